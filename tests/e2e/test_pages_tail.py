"""The dashboard's Kafka reader against the real broker: the newest records over every partition
of several topics, newest first, values cut to a size, and an unreachable broker reported."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaProducer

from chatsync.api.pages.tail import TailUnavailable, read_tail
from chatsync.infra.stack.stack import Stack

pytestmark = pytest.mark.integration
T0 = 1_780_000_000_000  # ms


async def _produce(servers: str, records: list[tuple[str, int, int, bytes]]) -> None:
    """(topic, partition, timestamp_ms, value) in order."""
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all")
    await producer.start()
    try:
        for topic, partition, at, value in records:
            await producer.send_and_wait(
                topic, value, key=b"k", partition=partition, timestamp_ms=at,
                headers=[("n", value[:8])],
            )  # fmt: skip
    finally:
        await producer.stop()


async def test_the_tail_is_the_newest_records_of_all_partitions(
    local_stack: Stack, topic_factory: Callable[..., Awaitable[str]]
) -> None:
    servers = local_stack.settings.kafka_bootstrap_servers
    spread, single, empty = (await topic_factory(partitions=3), await topic_factory(),
                             await topic_factory(partitions=2))  # fmt: skip
    await _produce(servers, [(spread, i % 3, T0 + i * 1000, f"v{i}".encode()) for i in range(30)])
    await _produce(servers, [(single, 0, T0 + 100_000 + i, f"s{i}".encode()) for i in range(5)])

    newest = await read_tail(servers, [spread], 10)
    assert [r.value for r in newest] == [f"v{i}".encode() for i in range(29, 19, -1)]
    assert newest[0].headers == (("n", b"v29"),)
    assert (newest[0].topic, newest[0].partition, newest[0].timestamp_ms) == (
        spread,
        29 % 3,
        T0 + 29_000,
    )
    mixed = await read_tail(servers, [spread, single, empty, "no-such-topic"], 7)
    assert [r.value for r in mixed] == [b"s4", b"s3", b"s2", b"s1", b"s0", b"v29", b"v28"]
    assert len(await read_tail(servers, [spread], 100)) == 30
    assert await read_tail(servers, [empty, "no-such-topic"], 5) == []


async def test_values_are_cut_to_the_size_asked(
    local_stack: Stack, topic_factory: Callable[..., Awaitable[str]]
) -> None:
    servers = local_stack.settings.kafka_bootstrap_servers
    topic = await topic_factory()
    await _produce(servers, [(topic, 0, T0, b"x" * 10_000)])
    [record] = await read_tail(servers, [topic], 1, max_value_bytes=100)
    assert record.value == b"x" * 100
    assert record.value_size == 10_000


async def test_an_unreachable_broker_is_reported() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TailUnavailable):
        await read_tail(f"127.0.0.1:{port}", ["chat.dlq"], 5, timeout_s=5)
