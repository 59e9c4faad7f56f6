"""POST /api/v1/sync/start/ and GET /api/v1/sync/status/{id}/ with a real PostgreSQL lease and
Kafka, and the account's Telegram history replaced by a fake behind its interface."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest

from chatsync.api.sync import Account
from chatsync.envelopes import RawEnvelope
from chatsync.infra.stack.stack import Stack
from chatsync.producers.telethon.history import DialogRef
from tests.fakes.telethon import FakeHistory, tl_message
from tests.integration.api_factories import Api, new_owner, running_api
from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.integration
START = "/api/v1/sync/start/"


class GatedHistory(FakeHistory):
    """A history that waits for ``gate`` before serving any message."""

    gate: asyncio.Event

    async def messages(self, dialog: DialogRef, *, offset_id: int, before: datetime) -> Any:
        await self.gate.wait()
        async for message in super().messages(dialog, offset_id=offset_id, before=before):
            yield message


class FakeAccounts:
    def __init__(self, user_id: int, history: FakeHistory) -> None:
        self.user_id, self.history = user_id, history

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Account]:
        yield Account(self.user_id, self.history)


@pytest.fixture
async def api(
    local_stack: Stack, topic_factory: Callable[..., Awaitable[str]]
) -> AsyncIterator[Api]:
    settings = local_stack.settings.model_copy(update={"topic_raw_mtproto": await topic_factory()})
    async for running in running_api(settings):
        yield running


async def _post(api: Api, token: str, body: dict[str, Any]) -> Any:
    return await api.client.post(START, json=body, headers={"Authorization": f"Bearer {token}"})


async def test_a_sync_runs_once_per_account_and_reports_progress(api: Api) -> None:
    account = new_owner()
    history = GatedHistory(
        chats={
            42: [tl_message(i, 42, hours=i) for i in range(1, 6)],
            43: [tl_message(7, 43, hours=2)],
        }
    )
    history.gate = asyncio.Event()
    api.app.state.sync_accounts = FakeAccounts(account, history)
    token, stranger = await api.store.token(account), await api.store.token(new_owner())
    started = await _post(api, token, {"max_date": "2026-01-01"})
    assert started.status_code == 202, started.text
    task_id = started.json()["task_id"]
    again = await _post(api, token, {})
    assert again.status_code == 409
    assert again.json()["error"]["details"] == [{"task_id": task_id}]
    assert (await _post(api, stranger, {})).status_code == 404
    assert (await api.get(f"/api/v1/sync/status/{task_id}/", stranger)).status_code == 404
    history.gate.set()
    status: dict[str, Any] = {}
    for _ in range(100):
        status = (await api.get(f"/api/v1/sync/status/{task_id}/", token)).json()
        if status["state"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.1)
    assert status["state"] == "succeeded", status
    assert (status["dialogs_done"], status["dialogs_total"], status["messages_sent"]) == (2, 2, 6)
    settings = api.app.state.settings
    records = await read_topic(
        settings.kafka_bootstrap_servers, settings.topic_raw_mtproto, at_least=6
    )
    envelopes = [RawEnvelope.from_bytes(r.value) for r in records]
    assert sorted((e.chat_id, e.payload["id"]) for e in envelopes) == [
        (42, 1),
        (42, 2),
        (42, 3),
        (42, 4),
        (42, 5),
        (43, 7),
    ]
    assert {e.source for e in envelopes} == {"backfill"}


async def test_bad_dates_are_422(api: Api) -> None:
    token = await api.store.token(new_owner())
    response = await _post(api, token, {"max_date": "not-a-date"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "max_date"


async def test_status_of_a_malformed_task_id_is_404_not_500(api: Api) -> None:
    """Regression: schemathesis found `GET /api/v1/sync/status/0/` answering 500."""
    token = await api.store.token(new_owner())
    response = await api.get("/api/v1/sync/status/0/", token)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
