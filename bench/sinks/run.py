"""bench/sinks: events per second written by the batching sinks (PostgreSQL rows, DynamoDB Local
items), side by side with a naive one-write-per-event baseline over the same topics.

1. Fresh topics for this run (KAFKA_TOPIC_PARTITIONS partitions), pre-filled with the events the
   reference normaliser makes of ``--updates`` realistic Bot API updates, published as the worker
   publishes them (key: deal id, or customer id). Not timed.
2. Subject, one sink at a time: the real runner (``chatsync.agents.sinks``) with the default
   SINK_* options, from its first consumed record until its committed offsets reach the end of its
   topics. PostgreSQL: the ``deals`` and ``customers`` tables, emptied first; DynamoDB: a table of
   its own, plus the fully-synced marks in PostgreSQL.
3. Baseline (``naive``): the same topics consumed the same way (same decode, a commit per fetched
   batch) but one write per event: an INSERT ... ON CONFLICT in its own transaction into copies of
   the tables, and one PutItem per message event into another table.

The ratios compare events per second (what the topics need); the subject writes fewer rows than
it reads events, since a batch keeps only the newest version of each deal, customer and message,
and ``rows``/``items`` show how many it wrote. Everything this run created is removed at the end;
the PostgreSQL ``deals``, ``customers`` and ``deal_messages_stored`` tables are emptied, so run it
on a stack of its own.

Usage: .venv/bin/python -m bench.sinks.run [--updates 10000] [--dynamodb-endpoint URL]
Needs the local stack (`chatsync infra up`; started here when it is not running).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.report import emit
from bench.sinks.naive import (
    Measured,
    consume_one_by_one,
    create_naive_tables,
    drop_naive_tables,
    dynamodb_writer,
    postgres_writer,
)
from chatsync.agents.sinks import SinkRunner
from chatsync.agents.sinks_cli import sink_runners
from chatsync.events import CustomerCreated, CustomerUpdated
from chatsync.infra.aws import dynamodb_client
from chatsync.infra.db import create_engine
from chatsync.infra.dynamodb import messages_table_definition
from chatsync.infra.sinks.dynamodb import DynamoDBSink
from chatsync.infra.sinks.policy import SinkOptions
from chatsync.infra.sinks.postgres import PostgresSink
from chatsync.infra.stack.stack import Stack
from chatsync.normalise.pipeline import MemoryNormaliser, NormalisedEvent
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo.scenario import stream_updates
from chatsync.settings import Settings, load_settings

TOPICS = ("topic_deals", "topic_customers", "topic_messages", "topic_dlq")


def _events(updates: int) -> list[NormalisedEvent]:
    normaliser = MemoryNormaliser()
    events: list[NormalisedEvent] = []
    for offset, update in enumerate(stream_updates(updates, seed=5)):
        value = botapi_envelope(update, describe_update(update), 1).to_bytes()
        events.extend(normaliser.process(value, "tg.raw.botapi", 0, offset))
    return events


async def _produce(settings: Settings, events: list[NormalisedEvent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all",
                                linger_ms=20, max_batch_size=1024 * 1024)  # fmt: skip
    await producer.start()
    try:
        for event in events:
            if isinstance(event, CustomerCreated | CustomerUpdated):
                topic, key = settings.topic_customers, event.data.customer_id
            elif event.event_type.startswith("deal."):
                topic, key = settings.topic_deals, event.deal_id
            else:
                topic, key = settings.topic_messages, event.deal_id
            await producer.send(topic, event.model_dump_json().encode(), key=key.encode(),
                                headers=[("event_type", event.event_type.encode())])  # fmt: skip
        await producer.flush()
    finally:
        await producer.stop()


async def _topics(settings: Settings, names: list[str], create: bool) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        if create:
            partitions = settings.kafka_topic_partitions
            await admin.create_topics([NewTopic(name, partitions, 1) for name in names])
        else:
            await admin.delete_topics(names)
    finally:
        await admin.close()


async def _subject(runner: SinkRunner, expected: int) -> Measured:
    """Run until the runner committed ``expected`` records; timed from its first record."""
    task = asyncio.create_task(runner.run())
    started: float | None = None
    try:
        while sum(runner.metrics.committed.values()) < expected:
            if task.done():
                task.result()
            if started is None and runner.metrics.records:
                started = time.perf_counter()
            await asyncio.sleep(0.002)
        assert started is not None
        return Measured(runner.metrics.records, runner.metrics.rows, time.perf_counter() - started)
    finally:
        runner.stop()
        await task


async def _empty_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE deals, customers, deal_messages_stored"))


async def _bench(settings: Settings, updates: int) -> dict[str, Any]:
    events = _events(updates)
    total, messages = len(events), sum(e.event_type.startswith("message.") for e in events)
    run = uuid.uuid4().hex[:8]
    names = {field: f"bench.sinks.{run}.{field.removeprefix('topic_')}" for field in TOPICS}
    subject_table, naive_table = f"bench-sinks-{run}", f"bench-sinks-naive-{run}"
    settings = settings.model_copy(update={**names, "dynamodb_messages_table": subject_table})
    engine = create_engine(settings, pool_size=4)
    await _topics(settings, list(names.values()), create=True)
    try:
        async with dynamodb_client(settings) as client:
            for table in (subject_table, naive_table):
                await client.create_table(**messages_table_definition(table))
            await _produce(settings, events)
            del events  # the input is not the subject's: keep the collector off it (as the API)
            gc.collect()
            gc.freeze()
            await _empty_tables(engine)
            naive_deals, naive_customers = await create_naive_tables(engine)
            options = SinkOptions.from_settings(settings)
            prefix = f"bench-sinks-{run}-"
            async with sink_runners(settings, group_prefix=prefix, options=options) as runners:
                by_name = {runner.sink.name: runner for runner in runners}
                pg = await _subject(by_name["postgres"], total - messages)
                ddb = await _subject(by_name["dynamodb"], messages)
            pg_decoder = PostgresSink(engine, deals_topic=settings.topic_deals,
                                      customers_topic=settings.topic_customers)  # fmt: skip
            ddb_decoder = DynamoDBSink(client, engine, table=naive_table,
                                       messages_topic=settings.topic_messages)  # fmt: skip
            servers = settings.kafka_bootstrap_servers
            pg_naive = await consume_one_by_one(
                servers, f"{prefix}naive-postgres", pg_decoder,
                postgres_writer(engine, naive_deals, naive_customers), total - messages,
            )  # fmt: skip
            ddb_naive = await consume_one_by_one(
                servers, f"{prefix}naive-dynamodb", ddb_decoder,
                dynamodb_writer(client, naive_table), messages,
            )  # fmt: skip
            for table in (subject_table, naive_table):
                await client.delete_table(TableName=table)
    finally:
        await drop_naive_tables(engine)
        await _empty_tables(engine)
        await engine.dispose()
        await _topics(settings, list(names.values()), create=False)
    return {
        "subject": {**_prefixed("postgres", pg.figures("rows")),
                    **_prefixed("dynamodb", ddb.figures("items"))},
        "baseline": {**_prefixed("postgres", pg_naive.figures("rows")),
                     **_prefixed("dynamodb", ddb_naive.figures("items"))},
        "ratios": {"postgres_events_per_s": _rate(pg) / _rate(pg_naive),
                   "dynamodb_events_per_s": _rate(ddb) / _rate(ddb_naive)},
        "params": {"updates": updates, "events": total, "message_events": messages,
                   "partitions": settings.kafka_topic_partitions,
                   "batch_max_records": options.batch_max_records,
                   "batch_max_wait_ms": options.batch_max_wait_s * 1000,
                   "dynamodb": settings.dynamodb_endpoint_url or "AWS",
                   "postgres": "the stack's server (fsync on)"},
    }  # fmt: skip


def _rate(measured: Measured) -> float:
    return measured.events / measured.seconds


def _prefixed(prefix: str, figures: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}_{key}": value for key, value in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--dynamodb-endpoint", default=None,
                        help="another DynamoDB for both sides (default: the stack's)")  # fmt: skip
    args = parser.parse_args()
    settings = load_settings()
    asyncio.run(Stack(settings).up())
    if args.dynamodb_endpoint:
        settings = settings.model_copy(update={"dynamodb_endpoint_url": args.dynamodb_endpoint})
    result = asyncio.run(_bench(settings, args.updates))
    emit("sinks", result["subject"], result["baseline"], params=result["params"],
         ratios=result["ratios"],
         notes="aim: both ratios >= 10; ratios compare events/s, the subject writes only the "
               "newest version of each key per batch")  # fmt: skip


if __name__ == "__main__":
    main()
