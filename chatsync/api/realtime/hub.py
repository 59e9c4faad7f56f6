"""One Kafka reader per API process that fans the normalised events out to its sockets.

The hub reads ``chat.deals`` and ``chat.messages`` from their end and hands each record to the
subscribers of its owner. A subscriber registers between two batches, so the positions it gets
(``Subscription.start``) split the log exactly: everything before them is history, to be read
from Kafka by the socket itself; everything from them on arrives in its queue. A queue is bounded:
a subscriber that falls behind is marked ``overflowed`` and the socket closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from chatsync.infra.kafka import topic_partitions

log = logging.getLogger(__name__)
Position = tuple[str, int]  # (topic, partition)
QUEUE_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    event: dict[str, Any]


@dataclass(eq=False)
class Subscription:
    owner_user_id: int | None  # None: every owner (admins)
    start: dict[Position, int]
    queue: asyncio.Queue[Record] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    overflowed: bool = False

    def offer(self, record: Record) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(record)
        except asyncio.QueueFull:
            self.overflowed = True


class Hub:
    def __init__(self, servers: str, topics: list[str]) -> None:
        self._servers, self._topics = servers, topics
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._subscriptions: set[Subscription] = set()
        self.positions: dict[Position, int] = {}
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="realtime-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    async def subscribe(self, owner_user_id: int | None, timeout_s: float = 15) -> Subscription:
        """Register for live records; its ``start`` is where the log becomes live for it."""
        await asyncio.wait_for(self._ready.wait(), timeout_s)
        subscription = Subscription(owner_user_id, dict(self.positions))
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    async def _run(self) -> None:
        while True:
            try:
                await self._connect()
                await self._pump()
            except KafkaError as exc:
                log.warning("realtime hub lost Kafka (%s); reconnecting", exc)
                self._ready.clear()
                await asyncio.sleep(2)

    async def _connect(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._servers,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        await consumer.start()
        self._consumer = consumer
        partitions = await topic_partitions(self._servers, self._topics)
        if not partitions:
            raise KafkaError(f"none of {self._topics} exists yet")
        consumer.assign(partitions)
        if self.positions:  # reconnected: continue exactly where we were
            for tp in partitions:
                consumer.seek(tp, self.positions.get((tp.topic, tp.partition), 0))
        else:
            await consumer.seek_to_end(*partitions)
            for tp in partitions:
                self.positions[(tp.topic, tp.partition)] = await consumer.position(tp)
        self._ready.set()

    async def _pump(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=500, max_records=2000)
            for tp, records in batch.items():
                for record in records:
                    self._dispatch(tp, record.offset, record.value)
                if records:
                    self.positions[(tp.topic, tp.partition)] = records[-1].offset + 1

    def _dispatch(self, tp: TopicPartition, offset: int, value: bytes | None) -> None:
        if value is None or not self._subscriptions:
            return
        event = json.loads(value)
        owner = event.get("owner_user_id")
        record = Record(tp.topic, tp.partition, offset, event)
        for subscription in self._subscriptions:
            if subscription.owner_user_id in (None, owner):
                subscription.offer(record)
