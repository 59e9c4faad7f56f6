"""SyncStore in memory: one process, for tests and tools (leases follow an injectable clock)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from chatsync.envelopes import utc_now
from chatsync.producers.telethon.errors import SyncAlreadyRunning, SyncInterrupted
from chatsync.producers.telethon.synctasks import (
    ACTIVE_STATES,
    DialogProgress,
    SyncState,
    SyncTask,
)

DEFAULT_LEASE = timedelta(seconds=60)


class InMemorySyncStore:
    """Tasks and checkpoints in dicts; same semantics as the PostgreSQL store."""

    def __init__(
        self, *, lease: timedelta = DEFAULT_LEASE, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.lease, self._clock = lease, clock
        self._tasks: dict[str, SyncTask] = {}
        self._dialogs: dict[str, dict[int, DialogProgress]] = {}

    async def start(
        self, account_user_id: int, *, min_date: datetime | None, max_date: datetime, owner: str
    ) -> SyncTask:
        now = self._clock()
        for task in self._tasks.values():
            if task.account_user_id == account_user_id and task.state in ACTIVE_STATES:
                alive = task.lease_until is not None and task.lease_until > now
                if alive and task.owner != owner:
                    raise SyncAlreadyRunning(task.id, account_user_id)
                return self._put(
                    task, owner=owner, lease_until=now + self.lease, flood_wait_until=None
                )
        task = SyncTask(
            id=str(uuid.uuid4()),
            account_user_id=account_user_id,
            state=SyncState.PENDING,
            min_date=min_date,
            max_date=max_date,
            dialogs_total=0,
            dialogs_done=0,
            messages_sent=0,
            current_dialog=None,
            created_at=now,
            started_at=None,
            finished_at=None,
            error=None,
            flood_wait_until=None,
            owner=owner,
            lease_until=now + self.lease,
        )
        self._tasks[task.id] = task
        self._dialogs[task.id] = {}
        return task

    async def get(self, task_id: str) -> SyncTask | None:
        return self._tasks.get(task_id)

    async def latest(self, account_user_id: int) -> SyncTask | None:
        mine = [t for t in self._tasks.values() if t.account_user_id == account_user_id]
        return max(reversed(mine), key=lambda t: t.created_at, default=None)  # newest wins ties

    async def progress(self, task_id: str) -> dict[int, DialogProgress]:
        return dict(self._dialogs.get(task_id, {}))

    async def begin(
        self, task_id: str, owner: str, *, dialogs_total: int, dialogs_done: int
    ) -> None:
        task = self._owned(task_id, owner)
        self._put(
            task,
            state=SyncState.RUNNING,
            started_at=task.started_at or self._clock(),
            dialogs_total=dialogs_total,
            dialogs_done=dialogs_done,
        )

    async def heartbeat(self, task_id: str, owner: str) -> None:
        self._put(self._owned(task_id, owner))

    async def checkpoint(self, task_id: str, owner: str, *, chat_id: int, message_id: int) -> None:
        task = self._owned(task_id, owner)
        dialogs = self._dialogs[task_id]
        old = dialogs.get(chat_id, DialogProgress(chat_id, None, 0, False))
        dialogs[chat_id] = replace(
            old, last_message_id=message_id, messages_sent=old.messages_sent + 1
        )
        self._put(task, messages_sent=task.messages_sent + 1, current_dialog=chat_id)

    async def dialog_done(self, task_id: str, owner: str, chat_id: int) -> None:
        task = self._owned(task_id, owner)
        dialogs = self._dialogs[task_id]
        old = dialogs.get(chat_id, DialogProgress(chat_id, None, 0, False))
        dialogs[chat_id] = replace(old, done=True)
        self._put(task, dialogs_done=task.dialogs_done + (0 if old.done else 1))

    async def flood_wait(self, task_id: str, owner: str, until: datetime | None) -> None:
        self._put(self._owned(task_id, owner), flood_wait_until=until)

    async def finish(
        self, task_id: str, owner: str, state: SyncState, error: str | None = None
    ) -> None:
        task = self._owned(task_id, owner)
        self._put(
            task,
            state=state,
            error=error,
            finished_at=self._clock(),
            lease_until=None,
            flood_wait_until=None,
            current_dialog=None,
        )

    async def release(self, task_id: str, owner: str) -> None:
        task = self._owned(task_id, owner)
        self._put(
            task,
            state=SyncState.PENDING,
            owner=None,
            lease_until=self._clock(),
            flood_wait_until=None,
        )

    async def cancel(self, task_id: str) -> bool:
        task = self._tasks.get(task_id)
        if task is None or task.state not in ACTIVE_STATES:
            return False
        self._tasks[task_id] = replace(
            task, state=SyncState.CANCELLED, finished_at=self._clock(), lease_until=None
        )
        return True

    def _owned(self, task_id: str, owner: str) -> SyncTask:
        task = self._tasks.get(task_id)
        if task is None:
            raise SyncInterrupted(f"sync task {task_id} does not exist")
        if task.state not in ACTIVE_STATES:
            raise SyncInterrupted(f"sync task {task_id} is {task.state}")
        if task.owner != owner:
            raise SyncInterrupted(f"sync task {task_id} was taken over by {task.owner}")
        return task

    def _put(self, task: SyncTask, **changes: Any) -> SyncTask:
        changes.setdefault("lease_until", self._clock() + self.lease)
        updated = replace(task, **changes)
        self._tasks[task.id] = updated
        return updated
