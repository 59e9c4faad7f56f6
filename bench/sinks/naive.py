"""The baseline of bench/sinks: the same topics consumed the same way, written one event at a time.

PostgreSQL: one ``INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE version < excluded.version`` per
event, each in its own transaction, into copies of ``deals`` and ``customers`` (``LIKE ...
INCLUDING ALL``: same keys and indexes). DynamoDB: one ``PutItem`` per message event (the item
built from that event alone), into a table of its own. Both decode with the sinks' own
``decode`` and commit the consumer's offsets after each fetched batch, like the runner does.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer
from sqlalchemy import MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.procfs import process_cpu_seconds
from chatsync.events import DealCreated, DealUpdated
from chatsync.infra.db import Base
from chatsync.infra.dynamodb import message_item
from chatsync.infra.postgres.models import Customer, Deal
from chatsync.infra.sinks.base import BatchingSink
from chatsync.infra.sinks.message_fold import MessageEvent, fold_message
from chatsync.infra.sinks.postgres import upsert_statement
from chatsync.infra.sinks.rows import (
    CUSTOMER_COLUMNS,
    DEAL_COLUMNS,
    CustomerEvent,
    DealEvent,
    customer_row,
    deal_row,
)

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

NAIVE_DEALS, NAIVE_CUSTOMERS = "bench_naive_deals", "bench_naive_customers"


@dataclass(frozen=True, slots=True)
class Instant:
    """Wall clock and CPU time so far: of this process, and of the store's server if known."""

    wall: float
    cpu: float
    store_cpu: float | None

    @classmethod
    def now(cls, store_pid: int | None = None) -> Instant:
        return cls(time.perf_counter(), time.process_time(), process_cpu_seconds(store_pid))


@dataclass(frozen=True, slots=True)
class Measured:
    events: int
    writes: int
    seconds: float  #: from the first record consumed to the last offset committed
    cpu_s: float = 0.0  #: this process's CPU time meanwhile (consumer, decode, client, sink)
    store_cpu_s: float | None = None  #: the store server's CPU time meanwhile, if known

    @classmethod
    def between(cls, events: int, writes: int, start: Instant, end: Instant) -> Measured:
        store = None
        if start.store_cpu is not None and end.store_cpu is not None:
            store = end.store_cpu - start.store_cpu
        return cls(events, writes, end.wall - start.wall, end.cpu - start.cpu, store)

    def __add__(self, other: Measured) -> Measured:
        store = None
        if self.store_cpu_s is not None and other.store_cpu_s is not None:
            store = self.store_cpu_s + other.store_cpu_s
        return Measured(self.events + other.events, self.writes + other.writes,
                        self.seconds + other.seconds, self.cpu_s + other.cpu_s, store)  # fmt: skip

    def figures(self, writes_name: str) -> dict[str, float]:
        figures = {
            "events": self.events,
            writes_name: self.writes,
            "seconds": round(self.seconds, 3),
            "events_per_s": round(self.events / self.seconds, 1),
            f"{writes_name}_per_s": round(self.writes / self.seconds, 1),
            "cpu_ms_per_event": round(1000 * self.cpu_s / self.events, 3),
        }
        if self.store_cpu_s is not None:
            figures["store_cpu_ms_per_event"] = round(1000 * self.store_cpu_s / self.events, 3)
        return figures


async def create_naive_tables(engine: AsyncEngine) -> tuple[Table, Table]:
    """Fresh copies of deals and customers, and Table objects to build statements with."""
    async with engine.begin() as connection:
        for copy, original in ((NAIVE_DEALS, "deals"), (NAIVE_CUSTOMERS, "customers")):
            await connection.execute(text(f"DROP TABLE IF EXISTS {copy}"))
            await connection.execute(text(f"CREATE TABLE {copy} (LIKE {original} INCLUDING ALL)"))
    metadata = MetaData()
    tables = Base.metadata.tables
    deals = tables[Deal.__tablename__].to_metadata(metadata, name=NAIVE_DEALS)
    customers = tables[Customer.__tablename__].to_metadata(metadata, name=NAIVE_CUSTOMERS)
    return deals, customers


async def drop_naive_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        for copy in (NAIVE_DEALS, NAIVE_CUSTOMERS):
            await connection.execute(text(f"DROP TABLE IF EXISTS {copy}"))


def postgres_writer(engine: AsyncEngine, deals: Table, customers: Table
                    ) -> Callable[[Any], Awaitable[None]]:  # fmt: skip
    deal_upsert = upsert_statement(deals, DEAL_COLUMNS)
    customer_upsert = upsert_statement(customers, CUSTOMER_COLUMNS)

    async def write(event: DealEvent | CustomerEvent) -> None:
        async with engine.begin() as connection:
            if isinstance(event, DealCreated | DealUpdated):
                await connection.execute(deal_upsert, [deal_row(event)])
            else:
                await connection.execute(customer_upsert, [customer_row(event)])

    return write


def dynamodb_writer(client: DynamoDBClient, table: str) -> Callable[[Any], Awaitable[None]]:
    async def write(event: MessageEvent) -> None:
        item = fold_message(None, [event])
        assert item is not None
        await client.put_item(TableName=table, Item=message_item(item))

    return write


async def consume_one_by_one(
    servers: str, group_id: str, decoder: BatchingSink[Any],
    write: Callable[[Any], Awaitable[None]], expected: int, store_pid: int | None = None,
) -> Measured:  # fmt: skip
    """Consume ``decoder.topics`` until ``expected`` records were written one by one."""
    consumer = AIOKafkaConsumer(
        *decoder.topics, bootstrap_servers=servers, group_id=group_id,
        enable_auto_commit=False, isolation_level="read_committed",
        auto_offset_reset="earliest", max_poll_records=5000,
    )  # fmt: skip
    await consumer.start()
    started: Instant | None = None
    done = 0
    try:
        while done < expected:
            fetched = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in fetched.values():
                for record in records:
                    started = started or Instant.now(store_pid)
                    await write(decoder.decode(record.topic, record.key, record.value))
                    done += 1
            if fetched:
                await consumer.commit()
    finally:
        await consumer.stop()
    assert started is not None
    return Measured.between(done, done, started, Instant.now(store_pid))
