"""History sync: an account's dialogs, newest to oldest, into the raw mtproto topic, resumably.

Each message of a dialog dated in ``[min_date, max_date)`` is published once as a ``backfill``
``new_message`` envelope, then checkpointed (the dialog's last sent id). After a crash, a stop or
a flood wait, a dialog is read again from below its checkpoint, so nothing is skipped and nothing
is sent twice (a crash between Kafka's acknowledgement and the checkpoint repeats that one
message, which the agents deduplicate by event id, as they do for live updates).

Flood waits are waited out and shown in the task's status. Dialogs Telegram refuses to read
(400/403) are skipped with a warning; other Telegram errors fail the task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from telethon import errors

from chatsync.envelopes import utc_now
from chatsync.producers.publisher import Publisher
from chatsync.producers.telethon.chatindex import ChatIndex
from chatsync.producers.telethon.delivery import publish_envelope
from chatsync.producers.telethon.errors import SyncInterrupted, SyncStoreUnavailable
from chatsync.producers.telethon.events import Scope, index_entry, message_envelope
from chatsync.producers.telethon.history import DialogRef, HistoryClient
from chatsync.producers.telethon.synctasks import SyncState, SyncStore, SyncTask

log = logging.getLogger(__name__)
T = TypeVar("T")
HEARTBEAT_EVERY_S = 20.0
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
TRANSIENT_ATTEMPTS = 8
FLOOD_ERRORS = (errors.FloodWaitError, errors.FloodPremiumWaitError)
TRANSIENT_ERRORS = (OSError, errors.ServerError, errors.TimedOutError)
SKIP_DIALOG_ERRORS = (errors.BadRequestError, errors.ForbiddenError)


@dataclass
class Progress:
    """What the engine is doing, in memory, for a progress display."""

    dialogs_total: int = 0
    dialogs_done: int = 0
    messages_sent: int = 0
    resumed_from: int = 0  # messages sent before this run (the task was resumed)
    current_dialog: int | None = None
    flood_wait_until: datetime | None = None
    skipped: list[int] = field(default_factory=list)


class BackfillEngine:
    """Runs one task to its end: succeeded, failed, or given up to another owner."""

    def __init__(
        self,
        client: HistoryClient,
        store: SyncStore,
        publisher: Publisher,
        *,
        topic: str,
        scope: Scope,
        owner: str,
        index: ChatIndex | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        heartbeat_every_s: float = HEARTBEAT_EVERY_S,
        first_backoff_s: float = FIRST_BACKOFF_S,
    ) -> None:
        self._client, self._store, self._publisher = client, store, publisher
        self._topic, self._scope, self._owner, self._index = topic, scope, owner, index
        self._sleep = sleep or self._wait
        self._heartbeat_every, self._first_backoff = heartbeat_every_s, first_backoff_s
        self._interrupted = asyncio.Event()
        self._last: dict[int, int] = {}
        self.progress = Progress()

    async def run(self, task: SyncTask) -> SyncState:
        """Work on ``task`` (owned by this engine's owner) until it ends; its final state."""
        heart = asyncio.create_task(self._heartbeat(task.id))
        try:
            await self._run(task)
            await self._store.finish(task.id, self._owner, SyncState.SUCCEEDED)
            return SyncState.SUCCEEDED
        except SyncInterrupted as exc:
            log.warning("history sync %s stopped: %s", task.id, exc)
            current = await self._store.get(task.id)
            return current.state if current is not None else SyncState.CANCELLED
        except (errors.RPCError, *TRANSIENT_ERRORS) as exc:
            log.error("history sync %s failed: %s", task.id, exc)
            error = f"{type(exc).__name__}: {exc}"
            await self._store.finish(task.id, self._owner, SyncState.FAILED, error)
            return SyncState.FAILED
        except asyncio.CancelledError:
            with contextlib.suppress(SyncInterrupted, SyncStoreUnavailable):
                await self._store.release(task.id, self._owner)
            raise
        finally:
            heart.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heart

    async def _run(self, task: SyncTask) -> None:
        dialogs = await self._retrying(task.id, self._list_dialogs)
        progress = await self._store_call(partial(self._store.progress, task.id))
        done = {chat for chat, p in progress.items() if p.done}
        self._last = {c: p.last_message_id for c, p in progress.items() if p.last_message_id}
        todo = [d for d in dialogs if d.chat_id not in done]
        self.progress.dialogs_total = len(dialogs)
        self.progress.dialogs_done = len(dialogs) - len(todo)
        self.progress.messages_sent = sum(p.messages_sent for p in progress.values())
        self.progress.resumed_from = self.progress.messages_sent
        await self._store_call(
            partial(
                self._store.begin,
                task.id,
                self._owner,
                dialogs_total=len(dialogs),
                dialogs_done=self.progress.dialogs_done,
            )
        )
        for dialog in todo:
            try:
                await self._retrying(task.id, partial(self._sync_dialog, task, dialog))
            except SKIP_DIALOG_ERRORS as exc:
                log.warning(
                    "dialog %s skipped: Telegram refused its history (%s)", dialog.chat_id, exc
                )
                self.progress.skipped.append(dialog.chat_id)
            await self._store_call(
                partial(self._store.dialog_done, task.id, self._owner, dialog.chat_id)
            )
            self.progress.dialogs_done += 1

    async def _list_dialogs(self) -> list[DialogRef]:
        found: dict[int, DialogRef] = {}
        async for dialog in self._client.dialogs():
            if self._scope.chat_id(dialog.peer) is not None:
                found.setdefault(dialog.chat_id, dialog)
        return list(found.values())

    async def _sync_dialog(self, task: SyncTask, dialog: DialogRef) -> None:
        last = self._last.get(dialog.chat_id)
        self.progress.current_dialog = dialog.chat_id
        messages = self._client.messages(dialog, offset_id=last or 0, before=task.max_date)
        async for message in messages:
            if self._interrupted.is_set():
                raise SyncInterrupted(f"sync task {task.id} is no longer ours")
            date = getattr(message, "date", None)
            if date is None or date >= task.max_date or (last is not None and message.id >= last):
                continue
            if task.min_date is not None and date < task.min_date:
                return
            await self._send(task, dialog, message)
            last = message.id

    async def _send(self, task: SyncTask, dialog: DialogRef, message: Any) -> None:
        envelope = message_envelope(message, self._scope, source="backfill")
        if envelope is None:
            return
        entry = index_entry(envelope)
        if self._index is not None and entry is not None:
            self._index.record([entry])
        await publish_envelope(
            self._publisher, self._topic, envelope, self._pause, first_backoff_s=self._first_backoff
        )
        await self._store_call(
            lambda: self._store.checkpoint(
                task.id, self._owner, chat_id=dialog.chat_id, message_id=message.id
            )
        )
        self._last[dialog.chat_id] = message.id
        self.progress.messages_sent += 1

    async def _retrying(self, task_id: str, action: Callable[[], Awaitable[T]]) -> T:
        """Run ``action`` again after flood waits (as long as Telegram asks) and transient
        network or server errors (a few times, with backoff)."""
        backoff, failures = self._first_backoff, 0
        while True:
            try:
                return await action()
            except FLOOD_ERRORS as exc:
                await self._flood_wait(task_id, int(exc.seconds))
            except TRANSIENT_ERRORS as exc:
                failures += 1
                if failures >= TRANSIENT_ATTEMPTS:
                    raise
                log.warning("Telegram: %s; retrying in %.0f s", exc, backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _flood_wait(self, task_id: str, seconds: int) -> None:
        until = utc_now() + timedelta(seconds=seconds)
        log.warning("Telegram asks to wait %d s (flood wait) until %s", seconds, until)
        self.progress.flood_wait_until = until
        await self._store_call(lambda: self._store.flood_wait(task_id, self._owner, until))
        await self._sleep(seconds)
        self.progress.flood_wait_until = None
        await self._store_call(lambda: self._store.flood_wait(task_id, self._owner, None))

    async def _store_call(self, call: Callable[[], Awaitable[T]]) -> T:
        """Ask the store again (with backoff) while the database does not answer."""
        backoff = self._first_backoff
        while True:
            try:
                return await call()
            except SyncStoreUnavailable as exc:
                log.warning("sync store unavailable (%s); retrying in %.0f s", exc, backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _heartbeat(self, task_id: str) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_every)
            try:
                await self._store.heartbeat(task_id, self._owner)
            except SyncStoreUnavailable as exc:
                log.warning("heartbeat of sync task %s failed (%s)", task_id, exc)
            except SyncInterrupted as exc:
                log.warning("sync task %s: %s", task_id, exc)
                self._interrupted.set()
                return

    async def _pause(self, seconds: float) -> bool:
        await self._sleep(seconds)
        return not self._interrupted.is_set()

    async def _wait(self, seconds: float) -> None:
        """Sleep, unless the task stops being ours meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._interrupted.wait(), seconds)
        if self._interrupted.is_set():
            raise SyncInterrupted("the sync task is no longer ours")
