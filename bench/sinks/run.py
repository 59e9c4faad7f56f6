"""bench/sinks: events per second written by the batching sinks (PostgreSQL rows, DynamoDB Local
items), side by side with a naive one-write-per-event baseline over the same topics.

1. Fresh topics for this run (KAFKA_TOPIC_PARTITIONS partitions), pre-filled with the events the
   reference normaliser makes of ``--updates`` realistic Bot API updates, published as the worker
   publishes them (key: deal id, or customer id). Not timed.
2. Subject, one sink at a time: the real runner (``chatsync.agents.sinks``) with the default
   SINK_* options, from its first consumed record until its committed offsets reach the end of its
   topics. PostgreSQL: the ``deals`` and ``customers`` tables; DynamoDB: a new table, plus the
   fully-synced marks in PostgreSQL.
3. Baseline (``naive``): the same topics consumed the same way (same decode, a commit per fetched
   batch) but one write per event: an INSERT ... ON CONFLICT in its own transaction into copies of
   the tables, and one PutItem per message event into another table (same client settings).
4. Order, per store: subject, baseline, baseline, subject, each into empty tables with a new
   consumer group. Other load on the machine drifts during a run; ABBA lets both sides see it.
   The figures add up both runs of a side; ``*_run1``/``*_run2`` show the spread.
5. With ``--dynamodb-in-memory``, step 4 once more for DynamoDB (figures ``dynamodb_memory_*``)
   against a DynamoDB Local started for this run with ``-inMemory`` (``memory.py``). The stack's
   keeps its tables in SQLite files and commits and syncs every item on its own, in a
   BatchWriteItem as in a PutItem, which caps what batching can gain there; the disk-backed
   figures stay in the report either way.

Beside the rates, each side reports CPU time per event: ``cpu_ms_per_event`` of this process
(consumer, decode, client, sink) and, for DynamoDB Local, ``store_cpu_ms_per_event`` of its JVM.

The ratios compare events per second (what the topics need); the subject writes fewer rows than
it reads events, since a batch keeps only the newest version of each deal, customer and message,
and ``rows``/``items`` show how many it wrote. Everything this run created is removed at the end;
the PostgreSQL ``deals``, ``customers`` and ``deal_messages_stored`` tables are emptied, so run it
on a stack of its own.

Usage: .venv/bin/python -m bench.sinks.run [--updates 10000] [--dynamodb-endpoint URL]
       [--dynamodb-in-memory]
Needs the local stack (`chatsync infra up`; started here when it is not running).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import uuid
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.report import emit
from bench.sinks.memory import in_memory_dynamodb
from bench.sinks.naive import (
    Instant,
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
from chatsync.infra.db import create_engine
from chatsync.infra.dynamodb import messages_table_definition
from chatsync.infra.sinks.clients import sink_dynamodb_client
from chatsync.infra.sinks.dynamodb import DynamoDBSink
from chatsync.infra.sinks.policy import SinkOptions
from chatsync.infra.sinks.postgres import PostgresSink
from chatsync.infra.stack import process
from chatsync.infra.stack.stack import Stack
from chatsync.normalise.pipeline import MemoryNormaliser, NormalisedEvent
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo.scenario import stream_updates
from chatsync.settings import Settings, load_settings

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

TOPICS = ("topic_deals", "topic_customers", "topic_messages", "topic_dlq")
NOTES = (
    "aim: every ratio >= 10; ratios compare events/s, the subject writes only the newest version "
    "of each key per batch. cpu_ms_per_event: this process (consumer, decode, client, sink); "
    "store_cpu_ms_per_event: DynamoDB Local's JVM. dynamodb: the stack's DynamoDB Local, whose "
    "SQLite files commit and sync every item on its own, in a BatchWriteItem too; "
    "dynamodb_memory: the same server with -inMemory, started for this run"
)


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


async def _subject(runner: SinkRunner, expected: int, store_pid: int | None) -> Measured:
    """Run until the runner committed ``expected`` records; timed from its first record."""
    task = asyncio.create_task(runner.run())
    started: Instant | None = None
    try:
        while sum(runner.metrics.committed.values()) < expected:
            if task.done():
                task.result()
            if started is None and runner.metrics.records:
                started = Instant.now(store_pid)
            await asyncio.sleep(0.002)
        assert started is not None
        metrics = runner.metrics
        return Measured.between(metrics.records, metrics.rows, started, Instant.now(store_pid))
    finally:
        runner.stop()
        await task


@dataclass
class _Bench:
    """Each measurement: a new consumer group reads the topics from the start into empty tables."""

    settings: Settings
    engine: AsyncEngine
    client: DynamoDBClient
    expected: dict[str, int]
    run: str
    dynamodb_pid: int | None = None  #: DynamoDB Local's process, to report its CPU time
    rounds: int = 0

    async def subject(self, store: str) -> Measured:
        settings = await self._fresh()
        async with sink_runners(
            settings,
            (store,),
            group_prefix=f"{self.run}-{self.rounds}-",
            options=SinkOptions.from_settings(settings),
        ) as [runner]:
            return await _subject(runner, self.expected[store], self._store_pid(store))

    async def naive(self, store: str) -> Measured:
        settings, group = await self._fresh(), f"{self.run}-{self.rounds}-naive-{store}"
        servers, engine, expected = settings.kafka_bootstrap_servers, self.engine, self.expected
        if store == "postgres":
            deals, customers = await create_naive_tables(engine)
            decoder = PostgresSink(engine, deals_topic=settings.topic_deals,
                                   customers_topic=settings.topic_customers)  # fmt: skip
            write = postgres_writer(engine, deals, customers)
            return await consume_one_by_one(servers, group, decoder, write, expected[store])
        table = settings.dynamodb_messages_table
        messages = DynamoDBSink(self.client, engine, table=table,
                                messages_topic=settings.topic_messages)  # fmt: skip
        write = dynamodb_writer(self.client, table)
        return await consume_one_by_one(servers, group, messages, write, expected[store],
                                        self._store_pid(store))  # fmt: skip

    def _store_pid(self, store: str) -> int | None:
        return self.dynamodb_pid if store == "dynamodb" else None

    async def _fresh(self) -> Settings:
        """Empty PostgreSQL tables and a new DynamoDB table for the next measurement."""
        self.rounds += 1
        async with self.engine.begin() as connection:
            await connection.execute(text("TRUNCATE deals, customers, deal_messages_stored"))
        await drop_naive_tables(self.engine)
        table = f"{self.run}-{self.rounds}"
        await self.client.create_table(**messages_table_definition(table))
        return self.settings.model_copy(update={"dynamodb_messages_table": table})

    async def close(self) -> None:
        for round_ in range(1, self.rounds + 1):
            await self.client.delete_table(TableName=f"{self.run}-{round_}")
        await drop_naive_tables(self.engine)
        async with self.engine.begin() as connection:
            await connection.execute(text("TRUNCATE deals, customers, deal_messages_stored"))


@dataclass(frozen=True, slots=True)
class _Target:
    """One store measured on both sides; its figures and ratio are named after ``label``."""

    label: str
    store: str
    unit: str
    bench: _Bench


async def _bench(settings: Settings, updates: int, *, in_memory: bool = False,
                 dynamodb_pid: int | None = None) -> dict[str, Any]:  # fmt: skip
    events = _events(updates)
    messages = sum(e.event_type.startswith("message.") for e in events)
    expected = {"postgres": len(events) - messages, "dynamodb": messages}
    run = f"bench-sinks-{uuid.uuid4().hex[:8]}"
    names = {field: f"{run}.{field.removeprefix('topic_')}" for field in TOPICS}
    settings = settings.model_copy(update=names)
    engine = create_engine(settings, pool_size=4)
    await _topics(settings, list(names.values()), create=True)
    subject: dict[str, float] = {}
    baseline: dict[str, float] = {}
    ratios: dict[str, float] = {}
    endpoints: dict[str, str] = {}
    try:
        await _produce(settings, events)
        del events  # the input is not the subject's: keep the collector off it (as the API)
        gc.collect()
        gc.freeze()
        async with AsyncExitStack() as stack:
            client = await stack.enter_async_context(sink_dynamodb_client(settings))
            bench = _Bench(settings, engine, client, expected, run, dynamodb_pid)
            stack.push_async_callback(bench.close)
            targets = [_Target("postgres", "postgres", "rows", bench),
                       _Target("dynamodb", "dynamodb", "items", bench)]  # fmt: skip
            if in_memory:
                targets.append(await _in_memory_target(stack, bench))
            for target in targets:
                s1, n1, n2, s2 = await _abba(target)
                subject |= _figures(target.label, target.unit, s1, s2)
                baseline |= _figures(target.label, target.unit, n1, n2)
                ratios[f"{target.label}_events_per_s"] = _rate(s1 + s2) / _rate(n1 + n2)
            endpoints = {t.label: t.bench.settings.dynamodb_endpoint_url or "AWS"
                         for t in targets if t.store == "dynamodb"}  # fmt: skip
    finally:
        await engine.dispose()
        await _topics(settings, list(names.values()), create=False)
    return {
        "subject": subject, "baseline": baseline, "ratios": ratios,
        "params": {"updates": updates, "events": sum(expected.values()),
                   "message_events": messages, "partitions": settings.kafka_topic_partitions,
                   **{k: v for k, v in asdict(SinkOptions.from_settings(settings)).items()
                      if k.startswith("batch")},
                   "order": "per store: subject, baseline, baseline, subject; figures of both runs",
                   **endpoints,
                   "postgres": "the stack's server (fsync on)"},
    }  # fmt: skip


async def _abba(target: _Target) -> list[Measured]:
    """Subject, baseline, baseline, subject: load from the other tenants of the machine drifts
    during a run, and this order lets both sides see it."""
    bench = target.bench
    return [await (bench.subject if side == "s" else bench.naive)(target.store)
            for side in "snns"]  # fmt: skip


async def _in_memory_target(stack: AsyncExitStack, disk: _Bench) -> _Target:
    """Both DynamoDB sides again, against a DynamoDB Local started in memory for this run."""
    server = await stack.enter_async_context(in_memory_dynamodb(disk.settings))
    settings = disk.settings.model_copy(
        update={"dynamodb_endpoint_url": f"http://{server.endpoint}"}
    )
    client = await stack.enter_async_context(sink_dynamodb_client(settings))
    bench = _Bench(settings, disk.engine, client, disk.expected, f"{disk.run}-memory",
                   server.pid())  # fmt: skip
    stack.push_async_callback(bench.close)
    return _Target("dynamodb_memory", "dynamodb", "items", bench)


def _figures(store: str, unit: str, first: Measured, second: Measured) -> dict[str, float]:
    both = first + second
    return {
        **{f"{store}_{key}": value for key, value in both.figures(unit).items()},
        f"{store}_events_per_s_run1": round(_rate(first), 1),
        f"{store}_events_per_s_run2": round(_rate(second), 1),
    }


def _rate(measured: Measured) -> float:
    return measured.events / measured.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--dynamodb-endpoint", default=None,
                        help="another DynamoDB for both sides (default: the stack's)")  # fmt: skip
    parser.add_argument("--dynamodb-in-memory", action="store_true",
                        help="also measure both DynamoDB sides against a temporary DynamoDB "
                             "Local that keeps its tables in memory")  # fmt: skip
    args = parser.parse_args()
    settings = load_settings()
    stack = Stack(settings)
    asyncio.run(stack.up())
    dynamodb_pid = process.read_pid(stack.component("dynamodb").pid_file)
    if args.dynamodb_endpoint:
        settings = settings.model_copy(update={"dynamodb_endpoint_url": args.dynamodb_endpoint})
        dynamodb_pid = None
    result = asyncio.run(_bench(settings, args.updates, in_memory=args.dynamodb_in_memory,
                                dynamodb_pid=dynamodb_pid))  # fmt: skip
    emit("sinks", result["subject"], result["baseline"], params=result["params"],
         ratios=result["ratios"], notes=NOTES)  # fmt: skip


if __name__ == "__main__":
    main()
