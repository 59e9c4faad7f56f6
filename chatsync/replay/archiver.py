"""The archiver: every record of the raw topics into S3 objects, offsets committed after each write.

It consumes as the consumer group ``chatsync-archiver`` (auto offset reset: earliest), cuts each
partition's records into batches (``batching``), writes a batch as one object (``naming``) and
only then commits the offset after the batch's last record. A crash at any point therefore
loses nothing: the restarted archiver reads the uncommitted records again and, because batch
boundaries depend only on the records and on the objects already written, writes the same
objects again with the same names and bytes. A partition's open batch is also written when the
consumer reached the end of that partition and no record came for ``idle_flush_s`` seconds,
so the archive keeps up with a quiet topic. A graceful stop writes nothing half-full: the open
batches are read again at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError

from chatsync.replay.archive_store import ArchiveReader
from chatsync.replay.batching import Batch, PartitionBatcher, Rotation
from chatsync.replay.errors import ArchiveUnavailable
from chatsync.replay.kafka_io import to_record
from chatsync.replay.naming import object_body
from chatsync.replay.records import encode_line

log = logging.getLogger(__name__)
POLL_MS = 500
MAX_RECORDS = 5000
PUT_RETRIES = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


@dataclass
class ArchiveStats:
    objects: int = 0
    records: int = 0
    bytes: int = 0


class Archiver(ConsumerRebalanceListener):  # type: ignore[misc]
    """Runs one archiver over a consumer already subscribed with this object as listener."""

    def __init__(self, consumer: AIOKafkaConsumer, reader: ArchiveReader, rotation: Rotation):
        self._consumer, self._reader, self._rotation = consumer, reader, rotation
        self._batchers: dict[TopicPartition, PartitionBatcher] = {}
        self._last_record_at: dict[TopicPartition, float] = {}
        self.stats = ArchiveStats()

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        for tp in revoked:  # the next owner reads the open batch again from the committed offset
            self._batchers.pop(tp, None)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        return None

    async def run(self, stop: asyncio.Event, *, idle_flush_s: float, once: bool = False) -> None:
        """Archive until ``stop`` is set; with ``once``, until every partition of the subscribed
        topics is archived (and committed) up to its end at the start, the tail included."""
        ends = await self._end_offsets() if once else None
        while not stop.is_set():
            fetched = await self._consumer.getmany(timeout_ms=POLL_MS, max_records=MAX_RECORDS)
            for tp, records in fetched.items():
                await self._take(tp, records)
            await self._flush_caught_up(0.0 if once else idle_flush_s)
            if ends is not None and await self._committed_up_to(ends):
                return

    async def _take(self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        batcher = self._batchers.get(tp)
        if batcher is None:
            existing = await self._reader.objects(tp.topic, tp.partition, records[0].offset)
            batcher = self._batchers[tp] = PartitionBatcher(
                self._rotation, [o.range for o in existing]
            )
        for record in records:
            line = encode_line(to_record(record))
            for batch in batcher.add(record.offset, record.timestamp, line):
                await self._write(tp, batch)
        self._last_record_at[tp] = time.monotonic()

    async def _flush_caught_up(self, idle_s: float) -> None:
        now = time.monotonic()
        for tp, batcher in list(self._batchers.items()):
            highwater = self._consumer.highwater(tp)
            if batcher.open_batch is None or highwater is None:
                continue
            if now - self._last_record_at.get(tp, now) < idle_s:
                continue
            if await self._consumer.position(tp) >= highwater:
                batch = batcher.flush()
                if batch is not None:
                    await self._write(tp, batch)

    async def _end_offsets(self) -> dict[TopicPartition, int]:
        await self._consumer.topics()  # loads the metadata
        tps = [
            TopicPartition(topic, partition)
            for topic in self._consumer.subscription()
            for partition in self._consumer.partitions_for_topic(topic) or ()
        ]
        starts = await self._consumer.beginning_offsets(tps)
        ends = await self._consumer.end_offsets(tps)
        return {tp: end for tp, end in ends.items() if end > starts[tp]}  # skip empty ones

    async def _committed_up_to(self, ends: dict[TopicPartition, int]) -> bool:
        """Whether the group's committed offsets reached ``ends`` (whoever archived them)."""
        for tp, end in ends.items():
            if (await self._consumer.committed(tp) or 0) < end:
                return False
        return True

    async def _write(self, tp: TopicPartition, batch: Batch) -> None:
        key = self._reader.layout.object_key(tp.topic, tp.partition, batch.first, batch.last)
        body = object_body(batch.lines)
        await self._put(key, body, batch.info.metadata())
        try:
            await self._consumer.commit({tp: batch.last + 1})
        except CommitFailedError as exc:  # rebalanced meanwhile: the new owner rewrites it
            log.warning("commit of %s after %s failed (%s); left to the new owner", tp, key, exc)
            self._batchers.pop(tp, None)
            return
        self.stats.objects += 1
        self.stats.records += len(batch.lines)
        self.stats.bytes += len(body)
        log.info("archived %s (%d records, %d bytes)", key, len(batch.lines), len(body))

    async def _put(self, key: str, body: bytes, metadata: dict[str, str]) -> None:
        for delay in PUT_RETRIES:
            try:
                await self._reader.store.put(key, body, metadata)
                return
            except ArchiveUnavailable as exc:
                log.warning("%s; retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
        await self._reader.store.put(key, body, metadata)  # the last attempt raises


def archiver_consumer(servers: str, group: str) -> AIOKafkaConsumer:
    """The archiver's consumer: its own group, manual commits, from the earliest record."""
    return AIOKafkaConsumer(
        bootstrap_servers=servers,
        group_id=group,
        client_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
