"""Where a replay reads: a topic (from an offset or a time) or the S3 archive (a time range).

Both select by offset, the way Kafka's offsets-for-times does: a partition's records from the
first one whose timestamp is at or after ``since`` up to (not including) the first one at or
after ``until``. So a time range of the archive and the same range of the topic give the same
records, even where producers' timestamps are not in order. Both read one partition at a time,
from any offset inside the plan (which is how a replay resumes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition

from chatsync.replay.archive_store import ArchivedObject, ArchiveReader
from chatsync.replay.kafka_io import (
    admin_client,
    offset_bounds,
    offsets_at,
    partitions_of,
    plain_consumer,
    to_record,
)
from chatsync.replay.plan import PartitionPlan, format_time
from chatsync.replay.records import KafkaRecord
from chatsync.replay.selection import archive_plan, select_objects

FETCH_MS = 1000


class Source(Protocol):
    @property
    def description(self) -> str: ...

    async def plan(self) -> list[PartitionPlan]: ...
    def read(self, part: PartitionPlan, start: int) -> AsyncIterator[KafkaRecord]: ...


@dataclass
class TopicSource:
    """A topic from ``from_offset`` (per partition, or for all: key -1) or ``since``."""

    servers: str
    topic: str
    from_offset: dict[int, int] = field(default_factory=dict)
    since_ms: int | None = None
    until_ms: int | None = None

    @property
    def description(self) -> str:
        if self.from_offset:
            start = ", ".join(f"{'all' if p < 0 else p}@{o}" for p, o in self.from_offset.items())
        else:
            start = format_time(self.since_ms) if self.since_ms is not None else "the start"
        end = (
            format_time(self.until_ms)
            if self.until_ms is not None
            else "its end when the replay started"
        )
        return f"topic {self.topic}, from {start} until {end}"

    async def plan(self) -> list[PartitionPlan]:
        async with admin_client(self.servers) as admin:
            partitions = await partitions_of(admin, self.topic)
        async with plain_consumer(self.servers) as consumer:
            bounds = await offset_bounds(consumer, self.topic, partitions)
            starts = await self._starts(consumer, partitions, bounds)
            ends = {p: end for p, (_, end) in bounds.items()}
            if self.until_ms is not None:
                found = await offsets_at(consumer, self.topic, partitions, self.until_ms)
                ends = {p: min(ends[p], _either(found[p], ends[p])) for p in ends}
            plans = []
            for p in partitions:
                start, end = starts[p], max(starts[p], ends[p])
                first = await _timestamp_at(consumer, TopicPartition(self.topic, p), start, end)
                last = await _timestamp_at(consumer, TopicPartition(self.topic, p), end - 1, end)
                plans.append(
                    PartitionPlan(self.topic, p, start, end, end - start, True, first, last)
                )
        return plans

    async def _starts(
        self, consumer: AIOKafkaConsumer, partitions: list[int], bounds: dict[int, tuple[int, int]]
    ) -> dict[int, int]:
        if self.since_ms is not None:
            found = await offsets_at(consumer, self.topic, partitions, self.since_ms)
            return {p: _either(found[p], bounds[p][1]) for p in partitions}
        default = self.from_offset.get(-1, 0)
        return {
            p: min(max(self.from_offset.get(p, default), bounds[p][0]), bounds[p][1])
            for p in partitions
        }

    async def read(self, part: PartitionPlan, start: int) -> AsyncIterator[KafkaRecord]:
        if start >= part.end:
            return
        tp = TopicPartition(part.topic, part.partition)
        async with plain_consumer(self.servers, max_partition_fetch_bytes=4 << 20) as consumer:
            consumer.assign([tp])
            consumer.seek(tp, start)
            while await consumer.position(tp) < part.end:
                batch = await consumer.getmany(tp, timeout_ms=FETCH_MS, max_records=2000)
                for record in batch.get(tp, []):
                    if record.offset >= part.end:
                        return
                    yield to_record(record)


def _either(found: int | None, default: int) -> int:
    return default if found is None else found


async def _timestamp_at(
    consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int, end: int
) -> int | None:
    if offset < 0 or offset >= end:
        return None
    consumer.assign([tp])
    consumer.seek(tp, offset)
    batch = await consumer.getmany(tp, timeout_ms=FETCH_MS * 5, max_records=1)
    records = batch.get(tp, [])
    return records[0].timestamp if records else None


@dataclass
class ArchiveSource:
    """The archived records of ``topic`` in [since, until) (by offset, see the module)."""

    reader: ArchiveReader
    topic: str
    since_ms: int | None = None
    until_ms: int | None = None
    _objects: dict[int, list[ArchivedObject]] = field(init=False, default_factory=dict)

    @property
    def description(self) -> str:
        since = format_time(self.since_ms) if self.since_ms is not None else "the start"
        until = format_time(self.until_ms) if self.until_ms is not None else "the end"
        return f"archive {self.reader.layout.topic_prefix(self.topic)}, from {since} until {until}"

    async def plan(self) -> list[PartitionPlan]:
        plans = []
        for partition in await self.reader.partitions(self.topic):
            listed = await self.reader.with_info(await self.reader.objects(self.topic, partition))
            chosen = select_objects(listed, self.since_ms, self.until_ms)
            self._objects[partition] = chosen
            plans.append(archive_plan(self.topic, partition, chosen, self.since_ms, self.until_ms))
        return plans

    async def read(self, part: PartitionPlan, start: int) -> AsyncIterator[KafkaRecord]:
        started = start > part.start or self.since_ms is None
        expected = start
        for obj in self._objects.get(part.partition, []):
            if obj.range.last < expected:
                continue
            for record in await self.reader.records(obj):
                if record.offset < expected:
                    continue  # before the resume point, or overlapping objects
                if not started and record.timestamp < (self.since_ms or 0):
                    continue
                if self.until_ms is not None and record.timestamp >= self.until_ms:
                    return
                started, expected = True, record.offset + 1
                yield record
