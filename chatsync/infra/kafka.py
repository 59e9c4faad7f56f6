"""Kafka administration: create the declared topics, idempotently; list topics' partitions."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.partitioner import DefaultPartitioner, murmur2

from chatsync.topics import TopicSpec


async def ensure_topics(bootstrap_servers: str, topics: list[TopicSpec]) -> list[str]:
    """Create every topic that does not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=15000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        if missing:
            await admin.create_topics([
                NewTopic(t.name, t.partitions, t.replication_factor, topic_configs=t.configs())
                for t in missing
            ])  # fmt: skip
        return [t.name for t in missing]
    finally:
        await admin.close()


async def topic_partitions(
    bootstrap_servers: str, topics: Sequence[str], *, request_timeout_ms: int = 40_000
) -> list[TopicPartition]:
    """Every partition of those ``topics`` that exist (a missing topic has none).

    The topics are described directly, and one Kafka answers with an error (unknown, or no
    leader yet) has no partitions here. A ``list_topics`` first is no shortcut: its listing can
    lag behind topics created a moment ago while ``describe_topics`` already knows them.
    """
    if not topics:
        return []
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=request_timeout_ms
    )
    await admin.start()
    try:
        described = await admin.describe_topics(list(dict.fromkeys(topics)))
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        if not topic.get("error_code")
        for partition in topic["partitions"]
    ]


class MemoizedPartitioner:
    """aiokafka's default partitioner (the Java client's murmur2 of the key, so every client
    puts a key in the same partition) with the hashes of recent keys remembered: the worker
    sends several records per deal and customer, and murmur2 is pure Python."""

    def __init__(self, size: int = 65_536) -> None:
        self._hash = functools.lru_cache(maxsize=size)(_positive_murmur2)

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        if key is None:
            return int(DefaultPartitioner()(key, all_partitions, available))
        return all_partitions[self._hash(key) % len(all_partitions)]


def _positive_murmur2(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF
