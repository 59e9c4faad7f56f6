"""A consumer-group loop with manual commits: at least once, in order per partition.

Each batch's partitions are handled concurrently, each partition's records one after another;
then the offsets of what was handled are committed. When a record cannot be handled because a
store or Kafka is down (StoreUnavailable, PublishUnavailable), its partition stops there: nothing
after it is committed, the consumer seeks back to it, and the loop pauses (backing off) before
reading it again. Any other exception is a bug: it stops the loop, uncommitted. ``stop`` lets the
records in hand finish (one per partition), commits what was handled and returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from chatsync.agents.commands.config import RetryPolicy
from chatsync.agents.commands.errors import StoreUnavailable
from chatsync.agents.commands.ratelimit import Sleep
from chatsync.producers.errors import PublishUnavailable
from chatsync.settings import Settings

log = logging.getLogger(__name__)


class Record(Protocol):
    """What the handlers read of a consumed record (aiokafka's ConsumerRecord has it)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes: ...


Handle = Callable[[Record], Awaitable[None]]
UNAVAILABLE = (StoreUnavailable, PublishUnavailable)
POLL_MS = 500
MAX_POLL_INTERVAL_MS = 15 * 60 * 1000  # a command may wait out a long Telegram flood wait


def group_consumer(settings: Settings, topic: str, group_id: str) -> AIOKafkaConsumer:
    """A consumer of ``topic`` in ``group_id``: manual commits, from the start for a new group."""
    return AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap_servers, group_id=group_id,
        client_id=group_id, enable_auto_commit=False, auto_offset_reset="earliest",
        max_poll_interval_ms=MAX_POLL_INTERVAL_MS, max_poll_records=100,
    )  # fmt: skip


class RecordLoop:
    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        handle: Handle,
        *,
        backoff: RetryPolicy,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._consumer, self._handle, self._backoff, self._sleep = consumer, handle, backoff, sleep
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the records in hand, commit what was handled, and return from ``run``."""
        self._stopping.set()

    async def run(self) -> None:
        await self._consumer.start()
        try:
            outages = 0
            while not self._stopping.is_set():
                batch = await self._consumer.getmany(timeout_ms=POLL_MS)
                results = await asyncio.gather(
                    *(self._partition(tp, records) for tp, records in batch.items())
                )
                await self._commit({tp: done for tp, done, _ in results if done is not None})
                if any(failed for _, _, failed in results):
                    outages += 1
                    await self._pause(self._backoff.delay(outages))
                else:
                    outages = 0
        finally:
            await self._consumer.stop()

    async def _partition(
        self, tp: TopicPartition, records: list[Record]
    ) -> tuple[TopicPartition, int | None, bool]:
        """(partition, offset to commit or None, whether a record must be read again)."""
        done: int | None = None
        for record in records:
            if self._stopping.is_set():
                break
            try:
                await self._handle(record)
            except UNAVAILABLE as exc:
                log.warning("%s[%d]@%d: %s; reading it again after a pause", tp.topic,
                            tp.partition, record.offset, exc)  # fmt: skip
                self._consumer.seek(tp, record.offset)
                return tp, done, True
            done = record.offset + 1
        return tp, done, False

    async def _pause(self, seconds: float) -> None:
        """Sleep, unless ``stop`` comes first."""
        nap = asyncio.ensure_future(self._sleep(seconds))
        stopped = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait((nap, stopped), return_when=asyncio.FIRST_COMPLETED)
        for waiter in (nap, stopped):
            waiter.cancel()

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except KafkaError as exc:
            # Typically a rebalance took the partitions away: their new owner reads these records
            # again, and commands are idempotent.
            log.warning("commit of %s failed (%s); those records will be read again",
                        _describe(offsets), exc)  # fmt: skip


def _describe(offsets: dict[TopicPartition, Any]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]@{offset}" for tp, offset in offsets.items())
