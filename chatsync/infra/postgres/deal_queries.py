"""Reading deals for the API: only fully synced ones, newest activity first, keyset-paginated.

A deal is fully synced once its customer row exists and at least one of its messages is stored in
DynamoDB (``deal_messages_stored``). Pages are keyed on (activity_at, id), so deals that arrive
while a client pages never shift a page: nothing is skipped or repeated. (A deal whose activity
changes while a client pages moves to the top, where the client's next refresh finds it.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsync.infra.postgres.models import Customer, Deal, DealMessagesStored


@dataclass(frozen=True, slots=True)
class DealFilter:
    owner_user_id: int | None = None
    updated_since: datetime | None = None
    q: str | None = None


@dataclass(frozen=True, slots=True)
class DealRow:
    deal: dict[str, Any]
    customer: dict[str, Any]


def _visible() -> Select[Any]:
    stored = exists().where(DealMessagesStored.deal_id == Deal.id)
    deals, customers = Deal.__table__, Customer.__table__
    return (
        select(deals, customers)
        .join(customers, customers.c.id == deals.c.customer_id)
        .where(stored)
    )


def _filtered(query: Select[Any], where: DealFilter) -> Select[Any]:
    if where.owner_user_id is not None:
        query = query.where(Deal.owner_user_id == where.owner_user_id)
    if where.updated_since is not None:
        query = query.where(Deal.updated_at >= where.updated_since)
    if where.q:
        pattern = "%" + where.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(*(column.ilike(pattern, escape="\\") for column in (
            Customer.first_name, Customer.last_name, Customer.username))))  # fmt: skip
    return query


async def list_deals(
    engine: AsyncEngine, where: DealFilter, *, limit: int,
    after: tuple[datetime, str] | None = None, before: tuple[datetime, str] | None = None,
) -> list[DealRow]:  # fmt: skip
    """Up to ``limit`` deals, newest activity first: after (older than) or before (newer than)
    a position (activity_at, id)."""
    key = tuple_(Deal.activity_at, Deal.id)
    query = _filtered(_visible(), where)
    if before is not None:
        query = query.where(key > tuple_(*before)).order_by(Deal.activity_at, Deal.id)
    else:
        if after is not None:
            query = query.where(key < tuple_(*after))
        query = query.order_by(Deal.activity_at.desc(), Deal.id.desc())
    async with engine.connect() as connection:
        rows = (await connection.execute(query.limit(limit))).all()
    result = [_split(row) for row in rows]
    return list(reversed(result)) if before is not None else result


async def get_deal(engine: AsyncEngine, deal_id: str, owner_user_id: int | None) -> DealRow | None:
    """One fully synced deal (of ``owner_user_id`` when given), or None."""
    query = _visible().where(Deal.id == deal_id)
    if owner_user_id is not None:
        query = query.where(Deal.owner_user_id == owner_user_id)
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    return _split(row) if row else None


def _split(row: Any) -> DealRow:
    """A joined row as the deal's columns and the customer's (positions: deals first)."""
    deal_names = [column.key for column in Deal.__table__.c]
    customer_names = [column.key for column in Customer.__table__.c]
    values = tuple(row)
    return DealRow(
        dict(zip(deal_names, values[: len(deal_names)], strict=True)),
        dict(zip(customer_names, values[len(deal_names) :], strict=True)),
    )


async def count_visible_deals(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        count = await connection.scalar(select(func.count()).select_from(_visible().subquery()))
    return int(count or 0)
