"""The worker: a Faust app whose three agents run the normalisation stages.

Processing guarantee: **at least once, with an exactly-once effect downstream.** For every record a
stage sends the events it produced, waits until Kafka acknowledged them, and only then writes its
tables (whose changelogs are what a restarted worker restores). So a worker killed at any moment
restarts from its last committed offsets with tables that are never ahead of what it published:
it processes the uncommitted tail again and re-emits the same events with the same ids (ids are
deterministic), which idempotent consumers (the sinks, the WebSocket) apply once. Without a
crash, each event is published once: redeliveries and the second producer are absorbed by the
tables. Faust's ``exactly_once`` mode (Kafka transactions) was tried first: with this topology's
internal repartition topics, faust-streaming 0.15 left some partitions of the internal topics
unconsumed, so it is not used.

Topology (every topic has KAFKA_TOPIC_PARTITIONS partitions):

    tg.raw.botapi, tg.raw.mtproto --resolve--> <app>-deal-inputs (key deal id)
                                          \\--> <app>-customer-inputs (key customer user id)
    <app>-deal-inputs --deals--> chat.messages, chat.deals (key deal id)
    <app>-customer-inputs --customers--> chat.customers (key customer id)
    any stage: a record it cannot process --> chat.dlq (original bytes, reason in headers)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import faust

from chatsync.agents.normalise import Outputs, register_agents
from chatsync.agents.recovery import SeekFirstTableManager
from chatsync.infra.kafka import MemoizedPartitioner
from chatsync.settings import Settings


def worker_state_dir(settings: Settings) -> Path:
    """Where the worker keeps its RocksDB tables (restored from the changelogs when missing).
    Several workers on one host each get a directory of their own (WORKER_STATE_DIR): a RocksDB
    database is opened by one process at a time."""
    if settings.worker_state_dir is not None:
        return settings.worker_state_dir.resolve()
    return settings.var_dir / "worker" / settings.worker_app_id


def create_worker_app(
    settings: Settings, outputs: Callable[[faust.App], Outputs] | None = None
) -> faust.App:
    """The worker's app; ``outputs`` replaces its output topics (the Faust-level tests pass
    in-memory channels)."""
    datadir = worker_state_dir(settings)
    datadir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    brokers = [
        f"kafka://{server.strip()}" for server in settings.kafka_bootstrap_servers.split(",")
    ]
    app = faust.App(
        settings.worker_app_id,
        broker=brokers,
        store=settings.worker_store,
        datadir=str(datadir),
        processing_guarantee="at_least_once",
        broker_commit_interval=settings.worker_commit_interval_ms / 1000,
        topic_partitions=settings.kafka_topic_partitions,
        topic_replication_factor=settings.kafka_replication_factor,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger=settings.worker_producer_linger_ms / 1000,
        producer_partitioner=MemoizedPartitioner(),
        web_enabled=False,
        table_standby_replicas=0,
        stream_wait_empty=False,
        key_serializer="raw",
        value_serializer="raw",
        TableManager=SeekFirstTableManager,  # see chatsync.agents.recovery
    )
    register_agents(app, settings, outputs(app) if outputs else None)
    return app
