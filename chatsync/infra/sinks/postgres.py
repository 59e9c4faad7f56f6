"""The PostgreSQL sink: ``chat.deals`` and ``chat.customers`` into the ``deals`` and ``customers``
tables, with batched, version-guarded, idempotent upserts.

Each flush keeps the newest version of each deal and customer of the batch, then writes both
tables in one transaction::

    INSERT INTO deals (...) VALUES (...)
    ON CONFLICT (id) DO UPDATE SET ... = excluded....
    WHERE deals.version < excluded.version

An older event never overwrites a newer row (it may arrive later: two sinks' topics are not
ordered with each other, and a replay starts from the beginning), and replaying the topics
changes nothing, not even ``stored_at``. ``customers.avatar_key`` and ``avatar_checked_at`` are
owned by the avatar component: the upsert neither sets nor clears them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsync.events import CustomerCreated, CustomerUpdated, DealCreated, DealUpdated
from chatsync.infra.postgres.models import Customer, Deal
from chatsync.infra.sinks.base import BatchingSink, SinkBatch
from chatsync.infra.sinks.dedupe import newest_per_key
from chatsync.infra.sinks.errors import UndecodableRecord
from chatsync.infra.sinks.outages import backpressure_on_outage
from chatsync.infra.sinks.rows import (
    CUSTOMER_COLUMNS,
    DEAL_COLUMNS,
    CustomerEvent,
    DealEvent,
    customer_row,
    deal_row,
)

ID_MAX_CHARS = 64  # deals.id, deals.customer_id, customers.id are String(64)
_DEAL_EVENTS: TypeAdapter[DealEvent] = TypeAdapter(
    Annotated[DealCreated | DealUpdated, Field(discriminator="event_type")]
)
_CUSTOMER_EVENTS: TypeAdapter[CustomerEvent] = TypeAdapter(
    Annotated[CustomerCreated | CustomerUpdated, Field(discriminator="event_type")]
)


def upsert_statement(table: Table, columns: Sequence[str]) -> Insert:
    """``INSERT ... ON CONFLICT (id) DO UPDATE SET <columns> WHERE version < excluded.version``;
    executed with a list of rows (asyncpg's pipelined executemany)."""
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=["id"],
        set_={name: statement.excluded[name] for name in columns if name != "id"},
        where=table.c.version < statement.excluded.version,
    )


def _table(model: type[Deal] | type[Customer]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


DEAL_UPSERT = upsert_statement(_table(Deal), DEAL_COLUMNS)
CUSTOMER_UPSERT = upsert_statement(_table(Customer), CUSTOMER_COLUMNS)


class PostgresSink(BatchingSink[DealEvent | CustomerEvent]):
    """Deals and customers into PostgreSQL; ``write`` returns the rows it sent (newest per key)."""

    name = "postgres"

    def __init__(self, engine: AsyncEngine, *, deals_topic: str, customers_topic: str) -> None:
        super().__init__()
        self.topics = (deals_topic, customers_topic)
        self._engine = engine
        self._adapters: dict[str, TypeAdapter[Any]] = {
            deals_topic: _DEAL_EVENTS,
            customers_topic: _CUSTOMER_EVENTS,
        }

    def decode(self, topic: str, key: bytes | None, value: bytes) -> DealEvent | CustomerEvent:
        adapter = self._adapters.get(topic)
        if adapter is None:
            raise UndecodableRecord(f"{topic} is not a topic of the {self.name} sink")
        try:
            event: DealEvent | CustomerEvent = adapter.validate_json(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the value"
            raise UndecodableRecord(f"not an event of {topic}: {where}: {first['msg']}") from None
        ids = (
            (event.data.deal_id, event.data.customer_id)
            if isinstance(event, DealCreated | DealUpdated)
            else (event.data.customer_id,)
        )
        if any(len(i) > ID_MAX_CHARS for i in ids):
            raise UndecodableRecord(f"an id is longer than {ID_MAX_CHARS} characters: {ids}")
        return event

    async def write(self, batch: SinkBatch[DealEvent | CustomerEvent]) -> int:
        values = batch.values()
        deals = newest_per_key(
            (v for v in values if isinstance(v, DealCreated | DealUpdated)),
            key=lambda e: e.data.deal_id, version=lambda e: e.data.version,
        )  # fmt: skip
        customers = newest_per_key(
            (v for v in values if isinstance(v, CustomerCreated | CustomerUpdated)),
            key=lambda e: e.data.customer_id, version=lambda e: e.data.version,
        )  # fmt: skip
        deal_rows = [deal_row(event) for event in deals]
        customer_rows = [customer_row(event) for event in customers]
        with backpressure_on_outage("PostgreSQL"):
            async with self._engine.begin() as connection:
                if deal_rows:
                    await connection.execute(DEAL_UPSERT, deal_rows)
                if customer_rows:
                    await connection.execute(CUSTOMER_UPSERT, customer_rows)
        return len(deal_rows) + len(customer_rows)
