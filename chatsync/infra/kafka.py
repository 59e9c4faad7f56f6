"""Kafka administration: create the declared topics, idempotently."""

from __future__ import annotations

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
