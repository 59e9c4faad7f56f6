"""Kafka administration: create the declared topics, idempotently; list topics' partitions."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

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
