"""Kafka plumbing shared by the replay tools: offsets, records, a batching producer."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from chatsync.replay.errors import ReplayError
from chatsync.replay.records import Header, KafkaRecord

REQUEST_TIMEOUT_MS = 15_000
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def to_record(record: ConsumerRecord[bytes, bytes]) -> KafkaRecord:
    return KafkaRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp=record.timestamp,
        timestamp_type="log_append" if record.timestamp_type == 1 else "create",
        key=record.key,
        value=record.value,
        headers=tuple((name, bytes(value)) for name, value in record.headers),
    )


@asynccontextmanager
async def admin_client(servers: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=REQUEST_TIMEOUT_MS)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


@asynccontextmanager
async def plain_consumer(servers: str, **options: Any) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer without a group (manual assignment, no commits) unless options say otherwise."""
    settings: dict[str, Any] = {
        "enable_auto_commit": False,
        "request_timeout_ms": REQUEST_TIMEOUT_MS,
        # An offset that retention removed meanwhile reads on from the oldest retained record.
        "auto_offset_reset": "earliest",
        **options,
    }
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, **settings)
    await consumer.start()
    # Let the consumer's background task start: stopping it before it ran once makes aiokafka
    # (0.14) raise CancelledError from stop().
    await asyncio.sleep(0)
    try:
        yield consumer
    finally:
        await consumer.stop()


async def partitions_of(admin: AIOKafkaAdminClient, topic: str) -> list[int]:
    """The topic's partitions; ReplayError naming the topic when it does not exist."""
    if topic not in set(await admin.list_topics()):
        raise ReplayError(f"topic {topic} does not exist")
    described = (await admin.describe_topics([topic]))[0]
    return sorted(p["partition"] for p in described["partitions"])


async def offset_bounds(
    consumer: AIOKafkaConsumer, topic: str, partitions: list[int]
) -> dict[int, tuple[int, int]]:
    """Partition -> (earliest retained offset, end offset)."""
    tps = [TopicPartition(topic, p) for p in partitions]
    starts = await consumer.beginning_offsets(tps)
    ends = await consumer.end_offsets(tps)
    return {tp.partition: (starts[tp], ends[tp]) for tp in tps}


async def offsets_at(
    consumer: AIOKafkaConsumer, topic: str, partitions: list[int], timestamp_ms: int
) -> dict[int, int | None]:
    """Partition -> the first offset whose timestamp is >= ``timestamp_ms`` (None: none is)."""
    tps = {TopicPartition(topic, p): timestamp_ms for p in partitions}
    found = await consumer.offsets_for_times(tps)
    return {tp.partition: (meta.offset if meta is not None else None) for tp, meta in found.items()}


class BatchProducer:
    """An idempotent ``acks=all`` producer that sends many records and waits for them at once."""

    def __init__(self, servers: str, client_id: str) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=servers,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=512 * 1024,
            request_timeout_ms=30_000,
        )
        self._pending: list[asyncio.Future[Any]] = []

    async def __aenter__(self) -> BatchProducer:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def partitions(self, topic: str) -> int:
        found = await self._producer.partitions_for(topic)
        return len(found)

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: tuple[Header, ...] | list[Header] = (),
        partition: int | None = None,
    ) -> None:
        """Queue one record (keyed records go where the default partitioner puts their key)."""
        self._pending.append(
            await self._producer.send(
                topic, value, key=key, partition=partition, headers=list(headers) or None
            )
        )

    async def flush(self) -> None:
        """Return once Kafka acknowledged every queued record; raise if any failed."""
        pending, self._pending = self._pending, []
        if pending:
            await asyncio.gather(*pending)


@contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """Within the block, SIGINT or SIGTERM sets ``stop`` (call inside the running loop)."""
    loop = asyncio.get_running_loop()
    for signum in SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    try:
        yield
    finally:
        for signum in SIGNALS:
            loop.remove_signal_handler(signum)
