"""The sink port, shaped like quix-streams' ``BatchingSink``: add records, flush them at commit.

The runner (``chatsync.agents.sinks``) drives every sink the same way::

    value = sink.decode(topic, key, raw)      # UndecodableRecord -> the DLQ, partition flows on
    sink.add(SinkRecord(topic, partition, offset, value))
    written = await sink.flush()              # SinkBackpressure -> wait, flush again, no commit
    ... commit the offsets of everything added ...

An adapter implements ``decode`` (bytes to its event type, pure) and ``write`` (one batch to its
store). ``write`` must be idempotent: a batch is written again after back-pressure, after a
crash before the commit, and on a replay of the topic. It should raise ``SinkBackpressure`` when
the store is unavailable (and only then): any other exception is a bug and stops the runner
without committing.

Unlike quix-streams, one flush writes the records of every partition the consumer fetched in one
go (one transaction, one round of batch requests): the consumer commits all of them together.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SinkRecord(Generic[T]):
    """One decoded record and where it was read."""

    topic: str
    partition: int
    offset: int
    value: T


@dataclass(frozen=True, slots=True)
class SinkBatch(Generic[T]):
    """The records of one flush, in the order they were consumed (per partition: offset order)."""

    records: tuple[SinkRecord[T], ...]

    def values(self) -> list[T]:
        return [record.value for record in self.records]

    def __len__(self) -> int:
        return len(self.records)


class BatchingSink(abc.ABC, Generic[T]):
    """Collects decoded records and writes them as one batch when the runner flushes.

    ``name`` names the consumer group (``chatsync-sink-<name>``), the metrics and the DLQ stage
    (``sink:<name>``); ``topics`` are the topics the runner subscribes to for this sink.
    """

    name: str
    topics: tuple[str, ...]

    def __init__(self) -> None:
        self._pending: list[SinkRecord[T]] = []

    @abc.abstractmethod
    def decode(self, topic: str, key: bytes | None, value: bytes) -> T:
        """The record's event; raise UndecodableRecord when it is not one this sink takes."""

    @abc.abstractmethod
    async def write(self, batch: SinkBatch[T]) -> int:
        """Write the batch idempotently; return how many rows or items it wrote.

        Raise SinkBackpressure when the store cannot take it now.
        """

    def add(self, record: SinkRecord[T]) -> None:
        self._pending.append(record)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> int:
        """Write what was added since the last successful flush. On SinkBackpressure the records
        stay pending, and the next flush writes them again (with whatever was added since)."""
        if not self._pending:
            return 0
        written = await self.write(SinkBatch(tuple(self._pending)))
        self._pending.clear()
        return written

    def discard(self) -> None:
        """Forget pending records that will not be committed (a rebalance, a stop): the consumer
        that owns their partitions next reads them again from the last committed offset."""
        self._pending.clear()
