"""The replay engine: source records into a target topic, checkpointed, resumable.

Each record keeps its key, value and headers; the default partitioner places it by its key, as
the producers did, so one conversation stays in one partition and in order (a record without a
key goes to the partition of its source partition's number). Two headers are added (replacing
any from an earlier replay): ``chatsync.replay.id`` and ``chatsync.replay.source``
(``<topic>:<partition>:<offset>`` of the source record). Records get the current time as their
timestamp: an old timestamp would let time-based retention delete them at once.

Source partitions are copied one after another. After every ``chunk`` records the engine waits
for Kafka's acknowledgements and saves the checkpoint; on resume it first looks past the
checkpoint's target marks for records it already sent (``recover_sent``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import TopicPartition

from chatsync.replay.checkpoint import Checkpoint, CheckpointFile
from chatsync.replay.kafka_io import BatchProducer, plain_consumer
from chatsync.replay.plan import PartitionPlan
from chatsync.replay.records import Header, KafkaRecord
from chatsync.replay.sources import Source

REPLAY_ID = "chatsync.replay.id"
REPLAY_SOURCE = "chatsync.replay.source"
CHUNK = 2000
PROGRESS_EVERY = 200


def replay_headers(record: KafkaRecord, replay_id: str) -> tuple[Header, ...]:
    """The record's own headers plus the replay's provenance."""
    own = tuple(h for h in record.headers if h[0] not in (REPLAY_ID, REPLAY_SOURCE))
    origin = f"{record.topic}:{record.partition}:{record.offset}".encode()
    return (*own, (REPLAY_ID, replay_id.encode()), (REPLAY_SOURCE, origin))


def replayed_from(headers: list[tuple[str, bytes]], replay_id: str) -> tuple[str, int] | None:
    """("<topic>:<partition>", offset) of a record this replay sent, else None."""
    found = dict(headers)
    if found.get(REPLAY_ID) != replay_id.encode() or REPLAY_SOURCE not in found:
        return None
    key, _, offset = found[REPLAY_SOURCE].decode().rpartition(":")
    return key, int(offset)


@dataclass
class Target:
    producer: BatchProducer
    servers: str
    topic: str
    partitions: int

    async def marks(self) -> dict[int, int]:
        async with plain_consumer(self.servers) as consumer:
            tps = [TopicPartition(self.topic, p) for p in range(self.partitions)]
            return {tp.partition: end for tp, end in (await consumer.end_offsets(tps)).items()}


async def recover_sent(checkpoint: Checkpoint, target: Target) -> int:
    """Advance ``checkpoint`` past records sent after it was saved; return how many."""
    ends = await target.marks()
    found = 0
    async with plain_consumer(target.servers) as consumer:
        for partition, end in ends.items():
            tp = TopicPartition(target.topic, partition)
            consumer.assign([tp])
            consumer.seek(tp, checkpoint.target_marks.get(partition, 0))
            while await consumer.position(tp) < end:
                batch = await consumer.getmany(tp, timeout_ms=1000, max_records=2000)
                for record in batch.get(tp, []):
                    origin = replayed_from(list(record.headers), checkpoint.replay_id)
                    progress = checkpoint.partitions.get(origin[0]) if origin else None
                    if origin is not None and progress is not None and origin[1] >= progress.next:
                        progress.next, progress.replayed = origin[1] + 1, progress.replayed + 1
                        found += 1
    return found


class Replayer:
    def __init__(
        self,
        source: Source,
        target: Target,
        checkpoint: Checkpoint,
        file: CheckpointFile,
        *,
        rate: float | None = None,
        progress: Callable[[int], None] = lambda _: None,
        chunk: int = CHUNK,
    ) -> None:
        self._source, self._target = source, target
        self._checkpoint, self._file = checkpoint, file
        self._rate, self._progress, self._chunk = rate, progress, chunk
        self._sent = 0
        self._started = time.monotonic()

    async def run(self, plans: list[PartitionPlan], stop: asyncio.Event) -> bool:
        """Copy every planned partition; False when ``stop`` interrupted it (progress saved)."""
        for part in plans:
            if not await self._partition(part, stop):
                await self._save()
                return False
        self._checkpoint.status = "done"
        await self._save()
        return True

    async def _partition(self, part: PartitionPlan, stop: asyncio.Event) -> bool:
        progress = self._checkpoint.partitions[part.key]
        unreported = 0
        async for record in self._source.read(part, progress.next):
            await self._send(record)
            progress.next, progress.replayed = record.offset + 1, progress.replayed + 1
            unreported += 1
            if unreported >= PROGRESS_EVERY:
                self._progress(unreported)
                unreported = 0
            if self._sent % self._chunk == 0:
                await self._save()
            if stop.is_set():
                self._progress(unreported)
                return False
            await self._pace()
        progress.next = max(progress.next, part.end)
        self._progress(unreported)
        return True

    async def _send(self, record: KafkaRecord) -> None:
        partition = None if record.key is not None else record.partition % self._target.partitions
        headers = replay_headers(record, self._checkpoint.replay_id)
        await self._target.producer.send(
            self._target.topic, record.key, record.value, headers, partition
        )
        self._sent += 1

    async def _save(self) -> None:
        await self._target.producer.flush()
        self._checkpoint.target_marks = await self._target.marks()
        self._file.save(self._checkpoint)

    async def _pace(self) -> None:
        if self._rate:
            ahead = self._sent / self._rate - (time.monotonic() - self._started)
            if ahead > 0:
                await asyncio.sleep(ahead)
