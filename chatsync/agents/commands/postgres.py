"""What the executor reads and writes in PostgreSQL: the customer's avatar, a deal's latest message.

Only ``customers.avatar_key`` and ``customers.avatar_checked_at`` are written here, and only on
rows the PostgreSQL sink created (an UPDATE: a customer not stored yet is reported, not created).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exc, select, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsync.agents.commands.errors import NotStoredYet, StoreUnavailable
from chatsync.agents.commands.refresh import StaleAvatar
from chatsync.infra.postgres.models import Customer, Deal

# A server that does not answer (a statement error is a bug and propagates).
_UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, OSError, TimeoutError)


class PostgresCustomerAvatars:
    """CustomerAvatars over the ``customers`` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def exists(self, customer_id: str) -> bool:
        try:
            async with self._engine.connect() as conn:
                found = await conn.scalar(select(Customer.id).where(Customer.id == customer_id))
        except _UNAVAILABLE as error:
            raise StoreUnavailable(f"PostgreSQL: {error}") from error
        return found is not None

    async def record(self, customer_id: str, avatar_key: str | None, checked_at: datetime) -> bool:
        statement = (
            update(Customer)
            .where(Customer.id == customer_id)
            .values(avatar_key=avatar_key, avatar_checked_at=checked_at)
        )
        try:
            async with self._engine.begin() as conn:
                result = await conn.execute(statement)
        except _UNAVAILABLE as error:
            raise StoreUnavailable(f"PostgreSQL: {error}") from error
        return bool(result.rowcount)

    async def stale(self, checked_before: datetime, limit: int) -> list[StaleAvatar]:
        """Up to ``limit`` customers whose photo was checked before ``checked_before``, checked
        longest ago first, each with the deal of its latest activity (owner and side)."""
        latest_deal = (
            select(Deal.customer_id, Deal.owner_user_id, Deal.source)
            .ext(distinct_on(Deal.customer_id))
            .order_by(Deal.customer_id, Deal.activity_at.desc())
            .subquery()
        )
        statement = (
            select(Customer.id, Customer.user_id, latest_deal.c.owner_user_id,
                   latest_deal.c.source, Customer.avatar_checked_at)
            .join(latest_deal, latest_deal.c.customer_id == Customer.id)
            .where(Customer.avatar_checked_at < checked_before)
            .order_by(Customer.avatar_checked_at, Customer.id)
            .limit(limit)
        )  # fmt: skip
        try:
            async with self._engine.connect() as conn:
                rows = (await conn.execute(statement)).all()
        except _UNAVAILABLE as error:
            raise StoreUnavailable(f"PostgreSQL: {error}") from error
        return [StaleAvatar(*row) for row in rows]


class PostgresDealReads:
    """DealReads over the ``deals`` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def latest_incoming(self, deal_id: str) -> int | None:
        try:
            async with self._engine.connect() as conn:
                row = (
                    await conn.execute(select(Deal.last_message).where(Deal.id == deal_id))
                ).first()
        except _UNAVAILABLE as error:
            raise StoreUnavailable(f"PostgreSQL: {error}") from error
        if row is None:
            raise NotStoredYet(f"deal {deal_id} is not stored in PostgreSQL yet")
        last = row[0]
        if not last or last.get("direction") != "in":
            return None
        return int(last["message_id"])
