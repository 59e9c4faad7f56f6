"""What ``chatsync topics`` asks the broker: topic offsets and configs, and the latest records."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import TopicPartition
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from chatsync.infra.kafka_status import GroupLag
from chatsync.replay.errors import ReplayError
from chatsync.replay.inspect import RecordFilter, latest
from chatsync.replay.kafka_io import admin_client, offset_bounds, plain_consumer, to_record
from chatsync.replay.records import KafkaRecord

SHOWN_CONFIGS = ("cleanup.policy", "retention.ms", "retention.bytes", "min.insync.replicas")
FETCH_MS = 1000


@dataclass(frozen=True)
class TopicInfo:
    name: str
    bounds: dict[int, tuple[int, int]]  # partition -> (earliest retained offset, end offset)
    configs: dict[str, str] = field(default_factory=dict)
    leaders: dict[int, int] = field(default_factory=dict)

    @property
    def retained(self) -> int:
        return sum(end - start for start, end in self.bounds.values())

    @property
    def written(self) -> int:
        return sum(end for _, end in self.bounds.values())


async def topic_infos(servers: str, names: list[str] | None = None) -> list[TopicInfo]:
    """The named topics (default: every topic but the broker's own ``__*``)."""
    async with admin_client(servers) as admin:
        existing = sorted(t for t in await admin.list_topics() if not t.startswith("__"))
        chosen = existing if names is None else names
        missing = [name for name in chosen if name not in existing]
        if missing:
            raise ReplayError(f"no such topic: {', '.join(missing)}")
        if not chosen:
            return []
        described = await admin.describe_topics(chosen)
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in chosen]
        configs = _configs(await admin.describe_configs(resources))
    infos = []
    async with plain_consumer(servers) as consumer:
        for topic in described:
            leaders = {p["partition"]: p["leader"] for p in topic["partitions"]}
            bounds = await offset_bounds(consumer, topic["topic"], sorted(leaders))
            infos.append(
                TopicInfo(topic["topic"], bounds, configs.get(topic["topic"], {}), leaders)
            )
    return sorted(infos, key=lambda info: info.name)


def _configs(responses: list[object]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for response in responses:
        for resource in response.to_object()["resources"]:  # type: ignore[attr-defined]
            entries = {
                str(e.get("config_names") or e.get("config_name")): str(e.get("config_value"))
                for e in resource["config_entries"]
            }
            found[resource["resource_name"]] = {
                k: entries[k] for k in SHOWN_CONFIGS if k in entries
            }
    return found


async def group_lags(servers: str, infos: list[TopicInfo]) -> list[GroupLag]:
    """Every consumer group with offsets on these topics, and its lag on them (per partition,
    against the end offsets in ``infos``)."""
    ends = {(i.name, p): end for i in infos for p, (_, end) in i.bounds.items()}
    lags = []
    async with admin_client(servers) as admin:
        for group, *_ in sorted(await admin.list_consumer_groups()):
            committed = await admin.list_consumer_group_offsets(group)
            lag = {
                f"{tp.topic}:{tp.partition}": max(0, ends[(tp.topic, tp.partition)] - meta.offset)
                for tp, meta in committed.items()
                if (tp.topic, tp.partition) in ends and meta.offset >= 0
            }
            if lag:
                lags.append(GroupLag(group, lag))
    return lags


async def tail_records(
    servers: str, info: TopicInfo, count: int, matching: RecordFilter, scan: int
) -> list[KafkaRecord]:
    """The ``count`` newest records that match, looking at most ``scan`` records back in each
    partition (``count`` when nothing is filtered)."""
    window = scan if matching.active else count
    found: list[KafkaRecord] = []
    async with plain_consumer(servers) as consumer:
        for partition, (start, end) in info.bounds.items():
            tp = TopicPartition(info.name, partition)
            consumer.assign([tp])
            consumer.seek(tp, max(start, end - window))
            while await consumer.position(tp) < end:
                batch = await consumer.getmany(tp, timeout_ms=FETCH_MS, max_records=2000)
                found += [
                    to_record(r)
                    for r in batch.get(tp, [])
                    if r.offset < end and matching.matches(r.value)
                ]
    return latest(found, count)


async def follow(
    servers: str,
    info: TopicInfo,
    matching: RecordFilter,
    stop: asyncio.Event,
    emit: Callable[[KafkaRecord], None],
) -> None:
    """Print new records as they arrive, until ``stop``."""
    tps = [TopicPartition(info.name, p) for p in info.bounds]
    async with plain_consumer(servers) as consumer:
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, info.bounds[tp.partition][1])
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=FETCH_MS)
            arrived = [to_record(r) for records in batch.values() for r in records]
            for record in sorted(arrived, key=lambda r: (r.timestamp, r.partition, r.offset)):
                if matching.matches(record.value):
                    emit(record)
