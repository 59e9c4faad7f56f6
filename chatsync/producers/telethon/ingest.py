"""The live producer's pipeline: Telethon handlers queue items, one worker publishes them in order.

Handlers only ``submit`` (fast, no network), so Telethon's update loop is never held up by Kafka
for longer than the bounded queue allows. The worker maps each item to envelopes (``events``),
remembers message id -> chat id for later deletes, and publishes at least once. ``settled`` says
whether everything received so far is in Kafka: the session persists Telegram's update state only
then, so updates that were received but not published are fetched again after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from chatsync.envelopes import utc_now
from chatsync.producers.errors import PublishUnavailable
from chatsync.producers.publisher import Publisher
from chatsync.producers.telethon.chatindex import ChatIndex
from chatsync.producers.telethon.delivery import FIRST_BACKOFF_S, publish_envelope
from chatsync.producers.telethon.events import (
    Scope,
    UpdateType,
    deleted_ids,
    index_entry,
    update_envelopes,
)
from chatsync.producers.telethon.health import HealthFile, LiveHealth

log = logging.getLogger(__name__)
MAX_PENDING = 1000
HEALTH_EVERY_S = 1.0


@dataclass(frozen=True)
class LiveItem:
    update_type: UpdateType
    obj: Any  # a TL Message (new, edited) or a TL update (deleted, read, user)


class LiveIngest:
    """Ordered, at-least-once publishing of live items for one account."""

    def __init__(
        self,
        publisher: Publisher,
        *,
        topic: str,
        scope: Scope,
        index: ChatIndex,
        health: LiveHealth,
        health_file: HealthFile,
        max_pending: int = MAX_PENDING,
        first_backoff_s: float = FIRST_BACKOFF_S,
    ) -> None:
        self._publisher, self._topic, self._scope, self._index = publisher, topic, scope, index
        self.health, self._health_file = health, health_file
        self._backoff = first_backoff_s
        self._queue: asyncio.Queue[LiveItem] = asyncio.Queue(max_pending)
        self._stopping = asyncio.Event()
        self._busy = False
        self._abandoned = False
        self._health_written = 0.0

    @property
    def settled(self) -> bool:
        """True when every item submitted so far was published (none pending, none given up)."""
        return self._queue.empty() and not self._busy and not self._abandoned

    async def submit(self, update_type: UpdateType, obj: Any) -> None:
        """Queue one item (waits while the queue is full: back-pressure on Telethon)."""
        await self._queue.put(LiveItem(update_type, obj))
        self.health.pending = self._queue.qsize()

    async def run(self) -> None:
        """The worker: returns when stopped (items left unpublished make ``settled`` False)."""
        while (item := await self._next()) is not None:
            self._busy = True
            try:
                await self._handle(item)
            except PublishUnavailable:
                self._abandoned = True
                return
            except BaseException:
                self._abandoned = True
                raise
            finally:
                self._busy = False
                self._queue.task_done()

    async def _next(self) -> LiveItem | None:
        """The next item, or None once stopping (a waiting ``get`` is cancelled, losing none)."""
        if self._stopping.is_set():
            return None
        getter = asyncio.ensure_future(self._queue.get())
        stopper = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not getter.done():
                getter.cancel()
        return getter.result() if getter.done() and not getter.cancelled() else None

    async def close(self, grace_s: float) -> bool:
        """Give pending items ``grace_s`` to reach Kafka, then stop; True when all did."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), grace_s)
        self._stopping.set()
        self._health_file.write(self.health)
        return self.settled

    async def _handle(self, item: LiveItem) -> None:
        ids = deleted_ids(item.obj) if item.update_type == "message_deleted" else []
        chats = self._index.lookup(ids) if ids else {}
        envelopes = update_envelopes(item.update_type, item.obj, self._scope, chats)
        self._index.record(entry for e in envelopes if (entry := index_entry(e)) is not None)
        for envelope in envelopes:
            await publish_envelope(
                self._publisher,
                self._topic,
                envelope,
                self._pause,
                first_backoff_s=self._backoff,
                on_retry=self._note_error,
            )
            self.health.published += 1
        self.health.last_update_at = utc_now()
        self.health.pending = self._queue.qsize()
        self._write_health(force=False)

    async def _pause(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return not self._stopping.is_set()

    def _note_error(self, error: str) -> None:
        self.health.last_error = f"Kafka: {error}"
        self._write_health(force=True)

    def _write_health(self, *, force: bool) -> None:
        now = time.monotonic()
        if force or now - self._health_written >= HEALTH_EVERY_S:
            self._health_written = now
            self._health_file.write(self.health)
