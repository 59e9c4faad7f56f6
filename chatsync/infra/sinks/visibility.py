"""The fully-synced rule: which deals the list API may show, and the bookkeeping behind it.

A deal is *fully synced*, and visible, once (1) its row exists, (2) its customer's row exists
(both written by the PostgreSQL sink), and (3) at least one of its messages is stored in DynamoDB,
recorded as a row in ``deal_messages_stored`` by the DynamoDB sink after the batch that stored the
message was written. The two sinks run independently, so any of the three can come first; the
rule holds whatever the order, and nothing ever un-marks a deal (messages are soft-deleted).

``visible_deals`` is the rule over plain sets (the specification, unit-tested);
``visible_deal_ids`` is the same rule in SQL, the query the API's list builds on.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from collections.abc import Set as AbstractSet

from sqlalchemy import Select, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from chatsync.infra.postgres.models import Customer, Deal, DealMessagesStored


def visible_deals(
    deal_customers: Mapping[str, str], customers: AbstractSet[str], stored: AbstractSet[str]
) -> set[str]:
    """Deals (id -> customer id) whose customer exists and that have a stored message."""
    return {
        deal
        for deal, customer in deal_customers.items()
        if customer in customers and deal in stored
    }


def visible_deals_query(deal_ids: Collection[str] | None = None) -> Select[str]:
    """SELECT the ids of the visible deals (of ``deal_ids`` only, when given)."""
    query = select(Deal.id).where(
        exists().where(Customer.id == Deal.customer_id),
        exists().where(DealMessagesStored.deal_id == Deal.id),
    )
    if deal_ids is not None:
        query = query.where(Deal.id.in_(list(deal_ids)))
    return query


async def visible_deal_ids(
    connection: AsyncConnection, deal_ids: Collection[str] | None = None
) -> set[str]:
    """The ids of the visible deals (of ``deal_ids`` only, when given)."""
    result = await connection.execute(visible_deals_query(deal_ids))
    return set(result.scalars())


async def mark_messages_stored(connection: AsyncConnection, deal_ids: Collection[str]) -> None:
    """Record that these deals have at least one stored message (idempotent)."""
    if not deal_ids:
        return
    statement = insert(DealMessagesStored).on_conflict_do_nothing(index_elements=["deal_id"])
    # Sorted: concurrent writers take the row locks in one order and cannot deadlock.
    await connection.execute(statement, [{"deal_id": deal} for deal in sorted(deal_ids)])
