"""The archive's object store: a small port and its S3 implementation.

``ArchiveReader`` answers the questions replay asks (which objects hold a partition's records
from an offset or in a time range, and what is in them) over any ``ObjectStore``; the S3 store
lists with ``StartAfter`` so only the objects at or after an offset are named.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chatsync.replay.errors import ArchiveUnavailable
from chatsync.replay.naming import (
    CONTENT_TYPE,
    ArchiveLayout,
    ObjectInfo,
    ObjectRange,
    object_lines,
)
from chatsync.replay.records import KafkaRecord, decode_line

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

HEAD_CONCURRENCY = 16


class ObjectStore(Protocol):
    async def put(self, key: str, body: bytes, metadata: dict[str, str]) -> None: ...
    def keys(self, prefix: str, start_after: str = "") -> AsyncIterator[str]: ...
    async def get(self, key: str) -> bytes: ...
    async def metadata(self, key: str) -> dict[str, str]: ...


class S3ObjectStore:
    """ObjectStore over an S3 client (the caller owns the client's lifetime)."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client, self._bucket = client, bucket

    async def put(self, key: str, body: bytes, metadata: dict[str, str]) -> None:
        try:
            await self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body,
                Metadata=metadata,
                ContentType=CONTENT_TYPE,
            )
        except (BotoCoreError, ClientError) as exc:
            raise ArchiveUnavailable(f"writing s3://{self._bucket}/{key}: {exc}") from exc

    async def keys(self, prefix: str, start_after: str = "") -> AsyncIterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            async for page in paginator.paginate(
                Bucket=self._bucket, Prefix=prefix, StartAfter=start_after
            ):
                for item in page.get("Contents", []):
                    yield item["Key"]
        except (BotoCoreError, ClientError) as exc:
            raise ArchiveUnavailable(f"listing s3://{self._bucket}/{prefix}: {exc}") from exc

    async def get(self, key: str) -> bytes:
        try:
            answer = await self._client.get_object(Bucket=self._bucket, Key=key)
            async with answer["Body"] as body:
                return await body.read()
        except (BotoCoreError, ClientError) as exc:
            raise ArchiveUnavailable(f"reading s3://{self._bucket}/{key}: {exc}") from exc

    async def metadata(self, key: str) -> dict[str, str]:
        try:
            answer = await self._client.head_object(Bucket=self._bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise ArchiveUnavailable(f"reading s3://{self._bucket}/{key}: {exc}") from exc
        return dict(answer.get("Metadata", {}))


@dataclass(frozen=True, slots=True)
class ArchivedObject:
    key: str
    topic: str
    partition: int
    range: ObjectRange
    info: ObjectInfo | None = None


class ArchiveReader:
    """Reads the archive of one layout."""

    def __init__(self, store: ObjectStore, layout: ArchiveLayout) -> None:
        self.store, self.layout = store, layout

    async def objects(
        self, topic: str, partition: int, from_offset: int = 0
    ) -> list[ArchivedObject]:
        """The partition's objects whose first offset is >= ``from_offset``, in offset order."""
        found = []
        prefix = self.layout.partition_prefix(topic, partition)
        marker = self.layout.start_after(topic, partition, from_offset) if from_offset else ""
        async for key in self.store.keys(prefix, marker):
            parsed = self.layout.parse(key)
            if parsed is not None and parsed[1] == partition:
                found.append(ArchivedObject(key, topic, partition, parsed[2]))
        return sorted(found, key=lambda o: o.range)

    async def partitions(self, topic: str) -> list[int]:
        """Partitions of ``topic`` that have objects."""
        seen: set[int] = set()
        async for key in self.store.keys(self.layout.topic_prefix(topic)):
            parsed = self.layout.parse(key)
            if parsed is not None and parsed[0] == topic:
                seen.add(parsed[1])
        return sorted(seen)

    async def with_info(self, objects: list[ArchivedObject]) -> list[ArchivedObject]:
        """The objects with their metadata (count, time range), fetched concurrently."""
        gate = asyncio.Semaphore(HEAD_CONCURRENCY)

        async def one(obj: ArchivedObject) -> ArchivedObject:
            async with gate:
                info = ObjectInfo.from_metadata(await self.store.metadata(obj.key))
            return ArchivedObject(obj.key, obj.topic, obj.partition, obj.range, info)

        return list(await asyncio.gather(*(one(o) for o in objects)))

    async def records(self, obj: ArchivedObject) -> list[KafkaRecord]:
        return [decode_line(line) for line in object_lines(await self.store.get(obj.key))]
