"""``chatsync backfill``: the account's history into the raw mtproto topic, with progress."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from datetime import UTC, datetime, timedelta

import click

from chatsync.envelopes import utc_now
from chatsync.infra.db import create_engine
from chatsync.infra.postgres.sync_tasks import PostgresSyncStore
from chatsync.producers.publisher import RawPublisher
from chatsync.producers.telethon.backfill import BackfillEngine, Progress
from chatsync.producers.telethon.chatindex import MessageChatIndex, index_path
from chatsync.producers.telethon.cli import INCLUDE_GROUPS, groups_in_scope, signed_in_account
from chatsync.producers.telethon.client import load_session, make_client
from chatsync.producers.telethon.errors import NotAuthorized, SyncError
from chatsync.producers.telethon.events import Scope
from chatsync.producers.telethon.history import TelethonHistory
from chatsync.producers.telethon.progress import progress_line, summary
from chatsync.producers.telethon.sync import default_owner
from chatsync.producers.telethon.synctasks import SyncState, SyncTask
from chatsync.settings import Settings

DAY = click.DateTime(formats=["%Y-%m-%d"])
REFRESH_S = 0.5


@click.command()
@click.option("--max-date", type=DAY, default=None, help="Last day (UTC) to copy; default: now.")
@click.option("--min-date", type=DAY, default=None, help="First day (UTC); default: the start.")
@INCLUDE_GROUPS
@click.pass_context
def backfill(
    ctx: click.Context,
    max_date: datetime | None,
    min_date: datetime | None,
    include_groups: bool | None,
) -> None:
    """Copy the account's chat history (newest first) to the raw mtproto topic.

    One sync per account runs at a time; a sync that was stopped or crashed resumes where it
    left off when this command runs again. Exit code 1 unless the sync succeeded.
    """
    settings: Settings = ctx.obj["settings"]
    until = max_date.replace(tzinfo=UTC) + timedelta(days=1) if max_date else utc_now()
    since = min_date.replace(tzinfo=UTC) if min_date else None
    if since is not None and since >= until:
        raise SyncError("--min-date must not be after --max-date")
    state = asyncio.run(
        _backfill(settings, since, until, groups_in_scope(settings, include_groups))
    )
    if state is not SyncState.SUCCEEDED:
        ctx.exit(1)


async def _backfill(
    settings: Settings, since: datetime | None, until: datetime, groups: bool
) -> SyncState:
    session = load_session(settings, read_only=True)  # the live producer owns the file
    account = signed_in_account(session)
    async with contextlib.AsyncExitStack() as resources:
        client = make_client(settings, session, flood_sleep_threshold=0)  # show every flood wait
        resources.push_async_callback(client.disconnect)
        database = create_engine(settings, pool_size=2)
        resources.push_async_callback(database.dispose)
        publisher = RawPublisher(
            settings.kafka_bootstrap_servers,
            client_id="chatsync-backfill",
            ack_timeout_s=settings.kafka_publish_timeout_ms / 1000,
        )
        resources.push_async_callback(publisher.stop)
        index = MessageChatIndex(index_path(settings.tg_session_path, account))
        resources.callback(index.close)
        await client.connect()
        if not await client.is_user_authorized():
            raise NotAuthorized()
        await publisher.start()
        store, owner = PostgresSyncStore(database), default_owner()
        task = await store.start(account, min_date=since, max_date=until, owner=owner)
        _announce(task, until)
        engine = BackfillEngine(
            TelethonHistory(client),
            store,
            publisher,
            owner=owner,
            index=index,
            topic=settings.topic_raw_mtproto,
            scope=Scope(account, groups),
        )
        return await _with_progress(task, engine)


def _announce(task: SyncTask, requested_until: datetime) -> None:
    span = f"{task.min_date.date() if task.min_date else 'the start'} .. {task.max_date}"
    if task.max_date != requested_until:
        click.echo(
            f"resuming history sync {task.id} ({span}); "
            f"{task.messages_sent:,} messages were sent before"
        )
    else:
        click.echo(f"history sync {task.id}: {span}")


async def _with_progress(task: SyncTask, engine: BackfillEngine) -> SyncState:
    started = time.monotonic()
    display = asyncio.create_task(_display(engine.progress, started))
    try:
        state = await engine.run(task)
    finally:
        display.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await display
    if sys.stderr.isatty():
        click.echo(err=True)
    for line in summary(task.id, state, engine.progress, time.monotonic() - started):
        click.echo(line)
    return state


async def _display(progress: Progress, started: float) -> None:
    """Rewrite one status line on a terminal; print a line every 30 s otherwise."""
    tty = sys.stderr.isatty()
    every = REFRESH_S if tty else 30.0
    while True:
        await asyncio.sleep(every)
        line = progress_line(progress, time.monotonic() - started, utc_now())
        click.echo(f"\r\x1b[2K{line}" if tty else line, err=True, nl=not tty)
