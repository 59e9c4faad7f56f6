"""The worker's internal topics, created before Faust starts consuming.

Faust declares its repartition and changelog topics itself, but on a fresh deployment it creates
them while its consumer subscribes: a broker slow to publish the new topics' metadata leaves them
out of the first assignment ("Ignoring missing topic"), and the consumer sees them only at its
next metadata refresh, minutes later, while the stage behind them waits. So ``chatsync worker``
creates them first and waits until the broker lists them with every partition led.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust
from aiokafka.admin import AIOKafkaAdminClient

from chatsync.infra.kafka import ensure_topics
from chatsync.settings import Settings
from chatsync.topics import TopicSpec

READY_TIMEOUT_S = 60


def internal_topics(app: faust.App, settings: Settings) -> list[TopicSpec]:
    """The repartition topics the agents read and the tables' changelogs (compacted)."""
    partitions, replicas = settings.kafka_topic_partitions, settings.kafka_replication_factor
    prefix = f"{settings.worker_app_id}-"
    read = {name for agent in app.agents.values() for name in getattr(agent.channel, "topics", ())}
    hops = sorted(name for name in read if name.startswith(prefix))
    changelogs = sorted(table.changelog_topic.get_topic_name() for table in app.tables.values())
    return [
        *(TopicSpec(name, "deal or customer", partitions, replicas, "delete",
                    settings.kafka_event_retention_ms, "worker repartition topic")
          for name in hops),
        *(TopicSpec(name, "table key", partitions, replicas, "compact", -1,
                    "worker table changelog") for name in changelogs),
    ]  # fmt: skip


async def declare_internal_topics(app: faust.App, settings: Settings) -> list[str]:
    """Create the missing internal topics and wait until all are ready; the names created."""
    topics = internal_topics(app, settings)
    created = await ensure_topics(settings.kafka_bootstrap_servers, topics)
    await _until_led(settings.kafka_bootstrap_servers, {t.name: t.partitions for t in topics})
    return created


async def _until_led(bootstrap_servers: str, partitions: dict[str, int]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=15000)
    await admin.start()
    deadline = time.monotonic() + READY_TIMEOUT_S
    try:
        while not _all_led(await admin.describe_topics(list(partitions)), partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the worker's topics are not ready: {sorted(partitions)}")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


def _all_led(described: list[dict[str, Any]], partitions: dict[str, int]) -> bool:
    led = {
        str(topic["topic"]): sum(1 for p in topic["partitions"] if p["leader"] >= 0)
        for topic in described
        if topic.get("error_code") == 0
    }
    return all(led.get(name) == count for name, count in partitions.items())
