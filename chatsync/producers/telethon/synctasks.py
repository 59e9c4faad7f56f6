"""History sync tasks: their status, their per-dialog checkpoints, and the store port.

One account has at most one active task (``pending`` or ``running``) at a time, across processes
and hosts. The process working on a task holds a lease that it renews; when it dies, the lease
runs out and ``start`` hands the task to the next caller, which resumes from the checkpoints: the
last message id sent in each dialog, and the dialogs that are done.

Implementations: ``InMemorySyncStore`` (``memstore``; tests, one process) and
``PostgresSyncStore`` (``chatsync.infra.postgres.sync_tasks``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chatsync.producers.telethon.render import iso_utc


class SyncState(enum.StrEnum):
    PENDING = "pending"  # waiting for a process (new, or released by one that stopped)
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATES = (SyncState.PENDING, SyncState.RUNNING)


@dataclass(frozen=True)
class SyncTask:
    """Status of one history sync, as a status API shows it."""

    id: str
    account_user_id: int
    state: SyncState
    min_date: datetime | None
    max_date: datetime
    dialogs_total: int
    dialogs_done: int
    messages_sent: int
    current_dialog: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    flood_wait_until: datetime | None
    owner: str | None
    lease_until: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            name: iso_utc(value) if isinstance(value, datetime) else value
            for name, value in self.__dict__.items()
            if name not in ("owner", "lease_until")
        }


@dataclass(frozen=True)
class DialogProgress:
    """Checkpoint of one dialog: the last (lowest) message id sent, and whether it is done."""

    chat_id: int
    last_message_id: int | None
    messages_sent: int
    done: bool


class SyncStore(Protocol):
    """Where tasks and checkpoints live. Every write by ``owner`` renews its lease and raises
    SyncInterrupted when the task is no longer the owner's (cancelled, finished, taken over)."""

    async def start(
        self, account_user_id: int, *, min_date: datetime | None, max_date: datetime, owner: str
    ) -> SyncTask:
        """A new task owned by ``owner``, or the account's active task when its lease ran out
        (taken over, with its own dates). Raises SyncAlreadyRunning when another owner holds a
        live lease."""
        ...

    async def get(self, task_id: str) -> SyncTask | None: ...

    async def latest(self, account_user_id: int) -> SyncTask | None: ...

    async def progress(self, task_id: str) -> dict[int, DialogProgress]: ...

    async def begin(
        self, task_id: str, owner: str, *, dialogs_total: int, dialogs_done: int
    ) -> None:
        """The dialogs are listed: the task is running."""
        ...

    async def heartbeat(self, task_id: str, owner: str) -> None: ...

    async def checkpoint(self, task_id: str, owner: str, *, chat_id: int, message_id: int) -> None:
        """One more message of ``chat_id`` is in Kafka."""
        ...

    async def dialog_done(self, task_id: str, owner: str, chat_id: int) -> None: ...

    async def flood_wait(self, task_id: str, owner: str, until: datetime | None) -> None: ...

    async def finish(
        self, task_id: str, owner: str, state: SyncState, error: str | None = None
    ) -> None: ...

    async def release(self, task_id: str, owner: str) -> None:
        """The owner stops without finishing: the task waits (pending) for the next start."""
        ...

    async def cancel(self, task_id: str) -> bool:
        """Cancel an active task (its process stops at its next write); False if not active."""
        ...
