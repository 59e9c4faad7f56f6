"""What the worker derives and keeps, by name: what ``chatsync reprocess`` resets.

The names come from the worker's own Faust app (built, never started), so a table or an internal
topic added to the agents is reset without a change here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faust

from chatsync.agents.app import worker_state_dir
from chatsync.agents.internal_topics import internal_topics
from chatsync.agents.normalise import register_agents
from chatsync.settings import Settings
from chatsync.topics import TopicSpec, declared_topics

# Faust's leader assignor keeps this topic per app (faust.assignor.leader_assignor).
_LEADER_TOPIC = "{app}-__assignor-__leader"


@dataclass(frozen=True, slots=True)
class WorkerState:
    app_id: str
    internal_topics: tuple[str, ...]  # repartition hops, table changelogs, leader topic
    state_dir: Path  # RocksDB tables
    outputs: tuple[TopicSpec, ...]  # the normalised topics the worker publishes


def worker_state(settings: Settings) -> WorkerState:
    app_id = settings.worker_app_id
    app = faust.App(app_id, topic_partitions=settings.kafka_topic_partitions)
    register_agents(app, settings)
    names = {topic.name for topic in internal_topics(app, settings)}
    names.add(_LEADER_TOPIC.format(app=app_id))
    outputs = {settings.topic_deals, settings.topic_customers, settings.topic_messages}
    return WorkerState(
        app_id=app_id,
        internal_topics=tuple(sorted(names)),
        state_dir=worker_state_dir(settings),
        outputs=tuple(t for t in declared_topics(settings) if t.name in outputs),
    )
