"""``/api/v1/sync/``: start the Telethon account's history sync, and follow it.

The sync runs in this process, in the background, through the account's Telethon session
(TG_SESSION_PATH); its state, checkpoints and the one-sync-per-account lease live in PostgreSQL,
so a status request may land on any API process. A token may start and read the syncs of its own
account only (admins: any).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatsync.api.auth import authenticate
from chatsync.api.errors import ApiError
from chatsync.api.openapi import Operation, Registry
from chatsync.api.params import body
from chatsync.errors import ChatsyncError
from chatsync.infra.postgres.sync_tasks import PostgresSyncStore
from chatsync.producers.telethon.errors import SyncAlreadyRunning
from chatsync.producers.telethon.history import HistoryClient
from chatsync.producers.telethon.sync import running_sync, start_sync
from chatsync.settings import Settings

log = logging.getLogger(__name__)


class SyncStartRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_date: date | None = Field(None, description="YYYY-MM-DD: sync messages up to this day")
    min_date: date | None = Field(None, description="YYYY-MM-DD: and from this day on")


class SyncStarted(BaseModel):
    task_id: str


class SyncStatus(BaseModel):
    id: str
    account_user_id: int
    state: str = Field(description="pending, running, succeeded, failed or cancelled")
    min_date: str | None
    max_date: str
    dialogs_total: int
    dialogs_done: int
    messages_sent: int
    current_dialog: int | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    error: str | None
    flood_wait_until: str | None


@dataclass
class Account:
    user_id: int
    history: HistoryClient


class AccountSource(Protocol):
    """Opens the deployment's Telethon account for a sync (a fake in tests)."""

    def open(self) -> contextlib.AbstractAsyncContextManager[Account]: ...


class TelethonAccounts:
    """The account of TG_SESSION_PATH, connected for the duration of one sync."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Account]:
        from chatsync.producers.telethon.cli import signed_in_account
        from chatsync.producers.telethon.client import load_session, make_client
        from chatsync.producers.telethon.history import TelethonHistory

        if self._settings.tg_api_id is None:
            raise ApiError(404, "no_telethon_account", "no Telethon account is connected here")
        session = load_session(self._settings, read_only=True)
        client = make_client(self._settings, session, flood_sleep_threshold=0)
        await client.connect()
        try:
            yield Account(signed_in_account(session), TelethonHistory(client))
        finally:
            await client.disconnect()


async def start(request: Request) -> Response:
    principal = await authenticate(request)
    params = await body(request, SyncStartRequest)
    state = request.app.state
    until = _day_end(params.max_date) if params.max_date else None
    since = datetime.combine(params.min_date, datetime.min.time(), UTC) if params.min_date else None
    resources = contextlib.AsyncExitStack()  # the account stays open until the sync ends
    try:
        try:
            account = await resources.enter_async_context(state.sync_accounts.open())
        except ChatsyncError as exc:
            raise ApiError(503, "telethon_unavailable", str(exc)) from None
        if account.user_id != principal.user_id and not principal.is_admin:
            raise ApiError(404, "not_found", "no Telethon account of yours is connected")
        task_id = await start_sync(
            store=PostgresSyncStore(state.engine), client=account.history,
            publisher=state.publisher, topic=state.settings.topic_raw_mtproto,
            account_user_id=account.user_id, min_date=since, max_date=until,
            include_groups=state.settings.tg_include_groups,
        )  # fmt: skip
    except SyncAlreadyRunning as exc:
        await resources.aclose()
        raise ApiError(409, "sync_running", str(exc), [{"task_id": exc.task_id}]) from None
    except ChatsyncError as exc:
        await resources.aclose()
        raise ApiError(422, "invalid_parameters", str(exc)) from None
    except BaseException:
        await resources.aclose()
        raise
    background = running_sync(task_id)
    if background is None:
        await resources.aclose()
    else:
        background.add_done_callback(lambda _: _close_soon(resources))
    return JSONResponse(SyncStarted(task_id=task_id).model_dump(), 202)


_CLOSING: set[asyncio.Task[None]] = set()


def _close_soon(resources: contextlib.AsyncExitStack) -> None:
    task = asyncio.get_running_loop().create_task(resources.aclose())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


async def status(request: Request) -> Response:
    principal = await authenticate(request)
    task_id = request.path_params["task_id"]
    try:
        uuid.UUID(task_id)
    except ValueError:
        raise ApiError(404, "not_found", "no such sync task") from None
    task = await PostgresSyncStore(request.app.state.engine).get(task_id)
    if task is None or (task.account_user_id != principal.user_id and not principal.is_admin):
        raise ApiError(404, "not_found", "no such sync task")
    return JSONResponse(SyncStatus(**task.to_json()).model_dump())


def _day_end(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=1)


def routes(registry: Registry) -> list[Route]:
    return [
        registry.route(start, Operation(
            "/api/v1/sync/start/", "POST", "Start the account's history sync", "sync",
            SyncStarted, status=202, body=SyncStartRequest, errors=(400, 404, 409, 422, 503),
        )),
        registry.route(status, Operation(
            "/api/v1/sync/status/{task_id}/", "GET", "State and progress of a history sync",
            "sync", SyncStatus, errors=(404,), path_params={"task_id": "the task id"},
        )),
    ]  # fmt: skip
