"""Starting a history sync in the background (``POST /api/v1/sync/start/`` calls ``start_sync``).

The asyncio tasks of the syncs this process runs are kept here, so they are not garbage-collected
while they run, and so a caller (a test, the API's shutdown) can await or cancel one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import datetime

from chatsync.envelopes import utc_now
from chatsync.producers.publisher import Publisher
from chatsync.producers.telethon.backfill import BackfillEngine
from chatsync.producers.telethon.chatindex import ChatIndex
from chatsync.producers.telethon.errors import SyncError
from chatsync.producers.telethon.events import Scope
from chatsync.producers.telethon.history import HistoryClient
from chatsync.producers.telethon.synctasks import SyncState, SyncStore

log = logging.getLogger(__name__)
_running: dict[str, asyncio.Task[SyncState]] = {}


def default_owner() -> str:
    """Who holds a task: this host and process, plus a random part (one per engine)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def start_sync(
    *,
    store: SyncStore,
    client: HistoryClient,
    publisher: Publisher,
    topic: str,
    account_user_id: int,
    min_date: datetime | None = None,
    max_date: datetime | None = None,
    include_groups: bool = False,
    index: ChatIndex | None = None,
) -> str:
    """Start (or take over and resume) the account's history sync in the background; its id.

    Messages dated in ``[min_date, max_date)`` are sent (``max_date`` defaults to now,
    ``min_date`` to the beginning). Raises SyncAlreadyRunning (with the running task's id) when
    another process holds the account's sync, and SyncError when ``min_date`` is not before
    ``max_date``. ``client`` must stay connected until the sync ends; ``running_sync(task_id)``
    gives its asyncio task.
    """
    max_date = max_date or utc_now()
    if min_date is not None and min_date >= max_date:
        raise SyncError("the history sync's min date must be before its max date")
    owner = default_owner()
    task = await store.start(account_user_id, min_date=min_date, max_date=max_date, owner=owner)
    scope = Scope(account_user_id, include_groups)
    engine = BackfillEngine(
        client, store, publisher, topic=topic, owner=owner, index=index, scope=scope
    )
    background = asyncio.create_task(engine.run(task), name=f"history-sync-{task.id}")
    _running[task.id] = background
    background.add_done_callback(lambda done: _forget(task.id, done))
    return task.id


def running_sync(task_id: str) -> asyncio.Task[SyncState] | None:
    """The asyncio task of a sync started by ``start_sync`` in this process, while it runs."""
    return _running.get(task_id)


def _forget(task_id: str, done: asyncio.Task[SyncState]) -> None:
    _running.pop(task_id, None)
    if not done.cancelled() and done.exception() is not None:
        log.error("history sync %s ended with an error", task_id, exc_info=done.exception())
