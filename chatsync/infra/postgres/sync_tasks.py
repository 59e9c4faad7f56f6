"""History sync tasks in PostgreSQL: the SyncStore of ``chatsync backfill`` and the API.

One active task per account is enforced by a unique partial index (``state IN ('pending',
'running')``), so two processes on two hosts cannot both create one. The owner's lease is
``lease_until``, compared with the database's clock (``now()``), so hosts' clocks do not matter;
every write of the owner renews it, and is refused (SyncInterrupted) once the task is not the
owner's any more. Database outages surface as SyncStoreUnavailable, which the engine retries.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from chatsync.infra.db import Base
from chatsync.producers.telethon.errors import (
    SyncAlreadyRunning,
    SyncInterrupted,
    SyncStoreUnavailable,
)
from chatsync.producers.telethon.synctasks import (
    ACTIVE_STATES,
    DialogProgress,
    SyncState,
    SyncTask,
)

DEFAULT_LEASE = timedelta(seconds=60)
_ACTIVE = [s.value for s in ACTIVE_STATES]


class SyncTaskRow(Base):
    __tablename__ = "sync_tasks"
    __table_args__ = (
        CheckConstraint(
            "state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')",
            name="sync_tasks_state_valid",
        ),
        Index(
            "sync_tasks_one_active_per_account",
            "account_user_id",
            unique=True,
            postgresql_where=text("state IN ('pending', 'running')"),
        ),
        Index("sync_tasks_account_created", "account_user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_user_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    min_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    max_date: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    dialogs_total: Mapped[int] = mapped_column(Integer, server_default="0")
    dialogs_done: Mapped[int] = mapped_column(Integer, server_default="0")
    messages_sent: Mapped[int] = mapped_column(BigInteger, server_default="0")
    current_dialog: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    owner: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    flood_wait_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SyncDialogRow(Base):
    __tablename__ = "sync_task_dialogs"

    task_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("sync_tasks.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    last_message_id: Mapped[int | None] = mapped_column(BigInteger)
    messages_sent: Mapped[int] = mapped_column(BigInteger, server_default="0")
    done: Mapped[bool] = mapped_column(Boolean, server_default="false")


T, D = SyncTaskRow, SyncDialogRow


class PostgresSyncStore:
    """SyncStore over an AsyncEngine (the caller creates and disposes of the engine)."""

    def __init__(self, engine: AsyncEngine, *, lease: timedelta = DEFAULT_LEASE) -> None:
        self._engine, self.lease = engine, lease

    async def start(
        self, account_user_id: int, *, min_date: datetime | None, max_date: datetime, owner: str
    ) -> SyncTask:
        for _ in range(3):
            try:
                async with self._transaction() as conn:
                    return await self._create_or_take_over(
                        conn, account_user_id, min_date, max_date, owner
                    )
            except IntegrityError:
                continue  # another start created one meanwhile: look again
        raise SyncStoreUnavailable("could not create the sync task (concurrent starts)")

    async def _create_or_take_over(
        self, conn: AsyncConnection, account_user_id: int, min_date: datetime | None,
        max_date: datetime, owner: str,
    ) -> SyncTask:  # fmt: skip
        query = (
            select(T, (T.lease_until > func.now()).label("alive"))
            .where(T.account_user_id == account_user_id, T.state.in_(_ACTIVE))
            .with_for_update()
        )
        found = (await conn.execute(query)).first()
        if found is not None:
            if found.alive and found.owner != owner:
                raise SyncAlreadyRunning(str(found.id), account_user_id)
            return await self._owned_update(
                conn, found.id, found.owner, owner=owner, flood_wait_until=None
            )
        new = insert(T).values(
            id=uuid.uuid4(), account_user_id=account_user_id, state=SyncState.PENDING.value,
            min_date=min_date, max_date=max_date, owner=owner,
            lease_until=func.now() + self.lease, heartbeat_at=func.now(),
        )  # fmt: skip
        row = (await conn.execute(new.returning(T))).one()
        return _task(row)

    async def get(self, task_id: str) -> SyncTask | None:
        async with self._transaction() as conn:
            row = (await conn.execute(select(T).where(T.id == _uuid(task_id)))).first()
        return _task(row) if row is not None else None

    async def latest(self, account_user_id: int) -> SyncTask | None:
        query = (
            select(T)
            .where(T.account_user_id == account_user_id)
            .order_by(T.created_at.desc())
            .limit(1)
        )
        async with self._transaction() as conn:
            row = (await conn.execute(query)).first()
        return _task(row) if row is not None else None

    async def progress(self, task_id: str) -> dict[int, DialogProgress]:
        async with self._transaction() as conn:
            rows = (await conn.execute(select(D).where(D.task_id == _uuid(task_id)))).all()
        return {
            r.chat_id: DialogProgress(r.chat_id, r.last_message_id, r.messages_sent, r.done)
            for r in rows
        }

    async def begin(
        self, task_id: str, owner: str, *, dialogs_total: int, dialogs_done: int
    ) -> None:
        started_at = func.coalesce(T.started_at, func.now())
        await self._write(task_id, owner, state=SyncState.RUNNING.value, started_at=started_at,
                          dialogs_total=dialogs_total, dialogs_done=dialogs_done)  # fmt: skip

    async def heartbeat(self, task_id: str, owner: str) -> None:
        await self._write(task_id, owner)

    async def checkpoint(self, task_id: str, owner: str, *, chat_id: int, message_id: int) -> None:
        key = _uuid(task_id)
        async with self._transaction() as conn:
            await self._owned_update(
                conn, key, owner, messages_sent=T.messages_sent + 1, current_dialog=chat_id
            )
            upsert = pg_insert(D).values(
                task_id=key, chat_id=chat_id, last_message_id=message_id, messages_sent=1
            )
            await conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=[D.task_id, D.chat_id],
                    set_={"last_message_id": message_id, "messages_sent": D.messages_sent + 1},
                )
            )

    async def dialog_done(self, task_id: str, owner: str, chat_id: int) -> None:
        key = _uuid(task_id)
        async with self._transaction() as conn:
            await self._owned_update(conn, key, owner)
            upsert = pg_insert(D).values(task_id=key, chat_id=chat_id, done=True)
            newly_done = (
                await conn.execute(
                    upsert.on_conflict_do_update(
                        index_elements=[D.task_id, D.chat_id],
                        set_={"done": True},
                        where=D.done.is_(False),
                    ).returning(D.chat_id)
                )
            ).first()
            if newly_done is not None:
                await self._owned_update(conn, key, owner, dialogs_done=T.dialogs_done + 1)

    async def flood_wait(self, task_id: str, owner: str, until: datetime | None) -> None:
        await self._write(task_id, owner, flood_wait_until=until)

    async def finish(
        self, task_id: str, owner: str, state: SyncState, error: str | None = None
    ) -> None:
        await self._write(task_id, owner, state=state.value, error=error, finished_at=func.now(),
                          lease_until=None, flood_wait_until=None, current_dialog=None)  # fmt: skip

    async def release(self, task_id: str, owner: str) -> None:
        await self._write(task_id, owner, state=SyncState.PENDING.value, owner=None,
                          lease_until=func.now(), flood_wait_until=None)  # fmt: skip

    async def cancel(self, task_id: str) -> bool:
        query = (
            update(T)
            .where(T.id == _uuid(task_id), T.state.in_(_ACTIVE))
            .values(state=SyncState.CANCELLED.value, finished_at=func.now(), lease_until=None)
            .returning(T.id)
        )
        async with self._transaction() as conn:
            return (await conn.execute(query)).first() is not None

    async def _write(self, task_id: str, holder: str, **values: Any) -> None:
        async with self._transaction() as conn:
            await self._owned_update(conn, _uuid(task_id), holder, **values)

    async def _owned_update(
        self, conn: AsyncConnection, task_id: uuid.UUID, holder: str | None, **values: Any
    ) -> SyncTask:
        """Update the task if ``holder`` holds it (and it is active), renewing the lease."""
        values.setdefault("lease_until", func.now() + self.lease)
        values.setdefault("heartbeat_at", func.now())
        query = (
            update(T)
            .where(
                T.id == task_id,
                T.state.in_(_ACTIVE),
                T.owner.is_(None) if holder is None else T.owner == holder,
            )
            .values(**values)
            .returning(T)
        )
        row = (await conn.execute(query)).first()
        if row is None:
            raise await _interrupted(conn, task_id)
        return _task(row)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.begin() as conn:
                yield conn
        except IntegrityError:
            raise
        except (DBAPIError, OSError) as exc:
            raise SyncStoreUnavailable(f"PostgreSQL: {type(exc).__name__}: {exc}") from exc


async def _interrupted(conn: AsyncConnection, task_id: uuid.UUID) -> SyncInterrupted:
    row = (await conn.execute(select(T.state, T.owner).where(T.id == task_id))).first()
    if row is None:
        return SyncInterrupted(f"sync task {task_id} does not exist")
    if row.state not in _ACTIVE:
        return SyncInterrupted(f"sync task {task_id} is {row.state}")
    return SyncInterrupted(f"sync task {task_id} was taken over by {row.owner}")


def _uuid(task_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(task_id)
    except ValueError:
        raise SyncInterrupted(f"{task_id!r} is not a sync task id") from None


def _task(row: Any) -> SyncTask:
    values = {field.name: getattr(row, field.name) for field in fields(SyncTask)}
    return SyncTask(**values | {"id": str(row.id), "state": SyncState(row.state)})
