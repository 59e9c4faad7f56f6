"""Every Kafka topic chatsync owns, declared once: name, key, partitions, cleanup and retention.

``chatsync infra up`` creates them; the AsyncAPI document describes them; the agents and producers
look their names up here rather than spelling them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chatsync.settings import Settings

CleanupPolicy = Literal["delete", "compact", "compact,delete"]
DLQ_RETENTION_MS = 30 * 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic as it must exist on the broker."""

    name: str
    key: str
    partitions: int
    replication_factor: int
    cleanup_policy: CleanupPolicy
    retention_ms: int
    description: str

    def configs(self) -> dict[str, str]:
        """Topic-level broker configs for creation."""
        configs: dict[str, str] = {"cleanup.policy": self.cleanup_policy}
        if "delete" in self.cleanup_policy:
            configs["retention.ms"] = str(self.retention_ms)
        return configs


def declared_topics(settings: Settings) -> list[TopicSpec]:
    """The topics of one deployment, named and sized by its settings."""
    partitions, replicas = settings.kafka_topic_partitions, settings.kafka_replication_factor
    raw, events = settings.kafka_raw_retention_ms, settings.kafka_event_retention_ms

    def spec(name: str, key: str, policy: CleanupPolicy, retention: int, text: str) -> TopicSpec:
        return TopicSpec(name, key, partitions, replicas, policy, retention, text)

    return [
        spec(
            settings.topic_raw_botapi,
            "chat",
            "delete",
            raw,
            "Raw Bot API updates (Telegram Business), as received, in envelopes.",
        ),
        spec(
            settings.topic_raw_mtproto,
            "chat",
            "delete",
            raw,
            "Raw Telethon (MTProto) updates, history backfill and imports, in envelopes.",
        ),
        spec(
            settings.topic_deals,
            "deal id",
            "compact",
            events,
            "deal.created / deal.updated events: the latest one per deal is its state.",
        ),
        spec(
            settings.topic_customers,
            "customer id",
            "compact",
            events,
            "customer.created / customer.updated events: the latest one is the profile.",
        ),
        spec(
            settings.topic_messages,
            "deal id",
            "delete",
            events,
            "message.created / message.edited / message.deleted events, ordered per deal.",
        ),
        spec(
            settings.topic_commands,
            "deal or customer id",
            "delete",
            events,
            "Commands for the Telegram edge: fetch an avatar, mark a chat read.",
        ),
        spec(
            settings.topic_dlq,
            "original key",
            "delete",
            DLQ_RETENTION_MS,
            "Records that could not be parsed or normalised, with their original bytes.",
        ),
    ]
