"""Sinks on the test stack: fresh topics, table and consumer groups for each test (no tests here).

Events come from the reference normaliser over the demo feed and are published exactly as the
worker publishes them (key: deal id, or customer id for customer events; value: the event's JSON;
an ``event_type`` header). Waiting for the sinks means their consumer groups committed the end of
every partition, read back from Kafka (not from the runners' own metrics).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsync.agents.sinks import SinkRunner
from chatsync.agents.sinks_cli import SINK_NAMES, sink_runners
from chatsync.events import CustomerCreated, CustomerUpdated, MessageDeleted
from chatsync.infra.aws import dynamodb_client
from chatsync.infra.db import create_engine
from chatsync.infra.dynamodb import Item, MessageItem, message_from_item, messages_table_definition
from chatsync.infra.sinks.message_fold import MessageEvent
from chatsync.infra.sinks.policy import Backoff, SinkOptions
from chatsync.normalise.pipeline import MemoryNormaliser, NormalisedEvent
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo.scenario import demo_updates
from chatsync.settings import Settings
from tests.kafka_helpers import end_offsets

TopicFactory = Callable[..., Awaitable[str]]
ProducedRecord = tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]
FAST = SinkOptions(batch_max_records=200, batch_max_wait_s=0.1,
                   backoff=Backoff(initial_s=0.2, max_s=2.0), lag_refresh_s=0.2)  # fmt: skip


def demo_events(seed: int | None = None, **shape: int) -> list[NormalisedEvent]:
    """The reference normaliser's events over a demo feed (a random seed: ids no test shares)."""
    seed = uuid.uuid4().int % 10**9 if seed is None else seed
    normaliser = MemoryNormaliser()
    events: list[NormalisedEvent] = []
    for offset, update in enumerate(demo_updates(seed=seed, **shape)):
        value = botapi_envelope(update, describe_update(update), 1).to_bytes()
        events.extend(normaliser.process(value, "tg.raw.botapi", 0, offset))
    return events


@dataclass
class SinkRun:
    settings: Settings
    engine: AsyncEngine

    def record(self, event: NormalisedEvent) -> ProducedRecord:
        """(topic, key, value, headers) as the worker publishes the event."""
        s, value = self.settings, event.model_dump_json().encode()
        headers = [("event_type", event.event_type.encode())]
        if isinstance(event, CustomerCreated | CustomerUpdated):
            return s.topic_customers, event.data.customer_id.encode(), value, headers
        topic = s.topic_deals if event.event_type.startswith("deal.") else s.topic_messages
        return topic, event.deal_id.encode(), value, headers

    async def produce(self, events: Iterable[NormalisedEvent]) -> None:
        await self.produce_records([self.record(event) for event in events])

    async def produce_records(self, records: Sequence[ProducedRecord]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap_servers,
                                    acks="all", enable_idempotence=True)  # fmt: skip
        await producer.start()
        try:
            sends = [await producer.send(topic, value, key=key, headers=headers)
                     for topic, key, value, headers in records]  # fmt: skip
            await asyncio.gather(*sends)
        finally:
            await producer.stop()

    @contextlib.asynccontextmanager
    async def running(
        self, only: Sequence[str] = SINK_NAMES, group_prefix: str | None = None
    ) -> AsyncIterator[list[SinkRunner]]:
        """The sinks, running in this process until the block ends."""
        prefix = group_prefix or f"test-sink-{uuid.uuid4().hex[:8]}-"
        async with sink_runners(self.settings, only, group_prefix=prefix, options=FAST) as runners:
            tasks = [asyncio.create_task(runner.run()) for runner in runners]
            try:
                yield runners
            finally:
                for runner in runners:
                    runner.stop()
                await asyncio.gather(*tasks)

    async def drained(self, runners: Sequence[SinkRunner], timeout_s: float = 180) -> None:
        """Wait until every runner committed the end of every partition of its topics."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all([await self._committed_all(runner) for runner in runners]):
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"sinks not drained: {[r.metrics.snapshot() for r in runners]}")

    async def groups_drained(
        self, groups: Mapping[str, Iterable[str]], *, still_running: Callable[[], None],
        timeout_s: float = 180,
    ) -> None:  # fmt: skip
        """Wait until each consumer group (name -> topics) committed the end of its topics,
        calling ``still_running`` (which raises when the consumers died) between checks."""
        deadline = time.monotonic() + timeout_s
        for group, topics in groups.items():
            while await self.uncommitted(group, topics) != 0:
                still_running()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{group} did not drain {list(topics)}")
                await asyncio.sleep(0.3)

    async def committed(self, group_id: str) -> dict[tuple[str, int], int] | None:
        """The group's committed offsets, read from Kafka (None: no group or coordinator yet)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap_servers)
        await admin.start()
        try:
            committed = await admin.list_consumer_group_offsets(group_id)
        except KafkaError:
            return None
        finally:
            await admin.close()
        return {(tp.topic, tp.partition): meta.offset for tp, meta in committed.items()}

    async def uncommitted(self, group_id: str, topics: Iterable[str]) -> int | None:
        """How many records of ``topics`` lie past the group's committed offsets."""
        done = await self.committed(group_id)
        if done is None:
            return None
        servers, total = self.settings.kafka_bootstrap_servers, 0
        for topic in topics:
            for partition, end in (await end_offsets(servers, topic)).items():
                total += max(0, end - done.get((topic, partition), 0))
        return total

    async def _committed_all(self, runner: SinkRunner) -> bool:
        return await self.uncommitted(runner.group_id, runner.sink.topics) == 0

    async def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        async with self.engine.connect() as connection:
            result = await connection.execute(text(sql), params)
            return [dict(row) for row in result.mappings()]

    async def items(self) -> list[MessageItem]:
        """Every item of this run's messages table."""
        return [message_from_item(item) for item in await self.raw_items()]

    async def raw_items(self) -> list[Item]:
        """Every item of this run's messages table, as DynamoDB holds it (attribute values)."""
        raw: list[Item] = []
        async with dynamodb_client(self.settings) as client:
            pages = client.get_paginator("scan").paginate(
                TableName=self.settings.dynamodb_messages_table, ConsistentRead=True
            )
            async for page in pages:
                raw.extend(page["Items"])
        return raw


async def new_sink_run(
    settings: Settings, topic_factory: TopicFactory, engine: AsyncEngine, partitions: int = 3
) -> SinkRun:
    """Fresh topics and a fresh DynamoDB table; the PostgreSQL tables are shared (random ids)."""
    fields = ("topic_deals", "topic_customers", "topic_messages", "topic_dlq")
    names = {name: await topic_factory(partitions=partitions) for name in fields}
    table = f"test-messages-{uuid.uuid4().hex[:8]}"
    async with dynamodb_client(settings) as client:
        await client.create_table(**messages_table_definition(table))
    run_settings = settings.model_copy(update={**names, "dynamodb_messages_table": table})
    return SinkRun(run_settings, engine)


async def drop_table(settings: Settings) -> None:
    async with dynamodb_client(settings) as client:
        await client.delete_table(TableName=settings.dynamodb_messages_table)


def expected_items(events: list[MessageEvent]) -> dict[tuple[str, int], tuple[object, ...]]:
    """Per message, from the events alone: (version, deleted, text, [(version, text)] of the
    versions an edit replaced). Written without the sink's fold, to check it."""
    per_message: dict[tuple[str, int], list[MessageEvent]] = {}
    for event in {e.event_id: e for e in reversed(events)}.values():  # first of each event_id
        per_message.setdefault((event.deal_id, event.data.message_id), []).append(event)
    expected: dict[tuple[str, int], tuple[object, ...]] = {}
    for key, found in per_message.items():
        found.sort(key=lambda e: e.data.version)
        contents = [e for e in found if not isinstance(e, MessageDeleted)]
        last = found[-1]
        replaced = [(e.data.version, e.data.text) for e in contents[:-1]]
        expected[key] = (last.data.version, isinstance(last, MessageDeleted), last.data.text,
                         replaced)  # fmt: skip
    return expected


def observed(items: list[MessageItem]) -> dict[tuple[str, int], tuple[object, ...]]:
    return {
        (i.deal_id, i.message_id): (i.version, i.is_deleted, i.data.text,
                                    [(e.version, e.text) for e in i.edits])
        for i in items
    }  # fmt: skip


async def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 180) -> None:
    """Wait for ``condition`` (checked every 0.1 s); fail naming ``what`` if it never holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"never happened: {what}")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def open_sink_run(
    settings: Settings, topic_factory: TopicFactory, partitions: int = 3
) -> AsyncIterator[SinkRun]:
    """A SinkRun with its own engine; its table is dropped afterwards."""
    engine = create_engine(settings, pool_size=2)
    run = await new_sink_run(settings, topic_factory, engine, partitions)
    try:
        yield run
    finally:
        await drop_table(run.settings)
        await engine.dispose()
