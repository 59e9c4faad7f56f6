"""Read-only statements on the API's request path: one round trip each, retried once after a drop.

The API reads through an engine of its own (``create_read_engine``), tuned for many small reads
from a hundred concurrent requests or more:

* every statement runs in autocommit: a single SELECT sees one snapshot anyway, and the BEGIN and
  ROLLBACK around it cost two of its three round trips;
* checkouts are not pinged: ``pool_pre_ping`` costs another BEGIN, ping and ROLLBACK per checkout.
  A connection PostgreSQL dropped (a restart) is instead noticed by the statement that uses it;
  SQLAlchemy then invalidates the whole pool, and the read, being idempotent, runs once more on a
  fresh connection, so a client sees no error;
* a fixed pool without overflow: overflow connections are closed when returned, so under
  sustained load the pool kept opening (TLS negotiation included) and closing connections;
* requests beyond the pool take turns in arrival order. SQLAlchemy's async pool lets a newcomer
  take a connection that was just returned ahead of those already waiting (who queue again at
  the back), so with 100 clients on 20 connections the median request waited less and the
  slowest ones ten times the median; ``fetch_all`` queues them first-come, first-served.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Executable, Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from chatsync.settings import Settings

READ_POOL_SIZE = 20
"""Connections per API process for request reads (PostgreSQL runs on the same few cores: more
connections only queue there instead of here)."""
READ_APPLICATION_NAME = "chatsync-api-reads"
"""How the pool's connections name themselves to PostgreSQL (``pg_stat_activity``)."""

Parameters = Mapping[str, Any] | None
_turns: WeakKeyDictionary[AsyncEngine, asyncio.Semaphore] = WeakKeyDictionary()


def create_read_engine(settings: Settings, *, pool_size: int = READ_POOL_SIZE) -> AsyncEngine:
    """The API's engine for request reads (autocommit, no checkout ping, connections handed out
    in turn); the caller disposes of it."""
    engine = create_async_engine(
        settings.sqlalchemy_url, pool_size=pool_size, max_overflow=0, pool_recycle=1800,
        isolation_level="AUTOCOMMIT",
        connect_args={"server_settings": {"application_name": READ_APPLICATION_NAME}},
    )  # fmt: skip
    _turns[engine] = asyncio.Semaphore(pool_size)  # asyncio's semaphore serves waiters in order
    return engine


async def fetch_all(
    engine: AsyncEngine, statement: Executable, parameters: Parameters = None
) -> Sequence[Row[Any]]:
    """Every row of a read-only statement, retried once when its connection had been dropped.
    Pass values as ``parameters`` of a reused statement: a statement built per call costs
    SQLAlchemy a new cache key each time."""
    try:
        return await _fetch_all_once(engine, statement, parameters)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return await _fetch_all_once(engine, statement, parameters)


async def fetch_first(
    engine: AsyncEngine, statement: Executable, parameters: Parameters = None
) -> Row[Any] | None:
    """The first row of a read-only statement (or None), retried like ``fetch_all``."""
    rows = await fetch_all(engine, statement, parameters)
    return rows[0] if rows else None


async def _fetch_all_once(
    engine: AsyncEngine, statement: Executable, parameters: Parameters
) -> Sequence[Row[Any]]:
    turn = _turns.get(engine) or contextlib.nullcontext()  # other engines: straight to the pool
    async with turn, engine.connect() as connection:
        return (await connection.execute(statement, parameters)).all()
