"""What the broker knows about chatsync: topic end offsets and consumer-group lag per partition.

Read by the status API, the Prometheus metrics and ``chatsync topics``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


@dataclass(frozen=True, slots=True)
class GroupLag:
    group: str
    partitions: dict[str, int] = field(default_factory=dict)  # "topic:partition" -> lag

    @property
    def total(self) -> int:
        return sum(self.partitions.values())


@dataclass(frozen=True, slots=True)
class BrokerStatus:
    reachable: bool
    end_offsets: dict[str, dict[int, int]] = field(default_factory=dict)
    groups: list[GroupLag] = field(default_factory=list)
    error: str | None = None

    def records(self, topic: str) -> int:
        return sum(self.end_offsets.get(topic, {}).values())


async def broker_status(
    servers: str, topics: list[str], group_prefixes: tuple[str, ...]
) -> BrokerStatus:
    """End offsets of ``topics`` and the lag of every group whose name starts with a prefix."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=5000)
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, request_timeout_ms=5000)
    try:
        await admin.start()
        await consumer.start()
        existing = set(await admin.list_topics())
        metadata = await admin.describe_topics([t for t in topics if t in existing])
        partitions = [
            TopicPartition(t["topic"], p["partition"]) for t in metadata for p in t["partitions"]
        ]
        ends = await consumer.end_offsets(partitions) if partitions else {}
        end_offsets: dict[str, dict[int, int]] = {}
        for tp, offset in ends.items():
            end_offsets.setdefault(tp.topic, {})[tp.partition] = offset
        groups = [
            g[0] for g in await admin.list_consumer_groups() if g[0].startswith(group_prefixes)
        ]
        lags = [await _group_lag(admin, consumer, group) for group in sorted(groups)]
        return BrokerStatus(True, end_offsets, lags)
    except Exception as exc:  # noqa: BLE001 - an unreachable broker is a status, not an error
        return BrokerStatus(False, error=f"{type(exc).__name__}: {exc}"[:300])
    finally:
        await consumer.stop()
        await admin.close()


async def _group_lag(
    admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, group: str
) -> GroupLag:
    committed = await admin.list_consumer_group_offsets(group)
    ends = await consumer.end_offsets(list(committed)) if committed else {}
    lag = {
        f"{tp.topic}:{tp.partition}": max(0, ends[tp] - meta.offset)
        for tp, meta in committed.items()
        if meta.offset >= 0
    }
    return GroupLag(group, lag)
