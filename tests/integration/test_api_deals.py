"""The deals API on real PostgreSQL and DynamoDB: auth, isolation, the fully-synced rule, DRF-style
cursor pages that stay stable while deals arrive, message history with edits, error shapes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import column, func, select, table, update

from chatsync.infra.postgres import tokens
from chatsync.infra.postgres.models import ApiToken
from chatsync.infra.postgres.reads import READ_APPLICATION_NAME
from chatsync.infra.postgres.tokens import principal_for, revoke_token
from chatsync.infra.stack.stack import Stack
from tests.integration.api_factories import Api, message, new_owner, running_api
from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.integration
DEALS = "/api/v1/deals/"


@pytest.fixture
async def api(local_stack: Stack) -> AsyncIterator[Api]:
    async for running in running_api(local_stack.settings):
        yield running


async def _owner_with_deals(
    api: Api, count: int, *, first_minute: int = 0
) -> tuple[int, list[str]]:
    owner = new_owner()
    deals = []
    for index in range(count):
        chat = owner + 1 + index
        await api.store.customer(chat, first_name=f"Customer {index}", username=f"user{index}")
        deals.append(
            await api.store.deal(
                owner,
                chat,
                minutes=first_minute + index,
                last=message(index + 1, minutes=first_minute + index),
            )
        )
    return owner, deals


async def _all_pages(api: Api, url: str, token: str) -> list[dict[str, Any]]:
    """What a client written for the old DRF API does: follow `next` until it is null."""
    results: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        response = await api.get(next_url, token)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"next", "previous", "results"}
        results.extend(page["results"])
        next_url = page["next"]
    return results


async def test_no_token_or_a_bad_one_is_401_in_the_error_shape(api: Api) -> None:
    for token in (None, "cs_not-a-real-token", "garbage"):
        response = await api.get(DEALS, token)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_revoked_token_stops_working(api: Api) -> None:
    owner = new_owner()
    token_id_and_token = await api.store.token(owner)
    assert (await api.get(DEALS, token_id_and_token)).status_code == 200
    principal = await principal_for(api.store.engine, token_id_and_token)
    assert principal is not None
    assert await revoke_token(api.store.engine, principal.token_id)
    assert (await api.get(DEALS, token_id_and_token)).status_code == 401


async def test_a_token_revoked_by_another_process_stops_working_within_the_cache_time(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]
    monkeypatch.setattr(tokens, "principals", tokens.PrincipalCache(5.0, 100, lambda: now[0]))
    token = await api.store.token(new_owner())
    assert (await api.get(DEALS, token)).status_code == 200
    async with api.store.engine.begin() as connection:  # as `chatsync tokens revoke` does
        await connection.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == tokens.hash_token(token))
            .values(revoked_at=func.now())
        )
    now[0] = 4.9
    assert (await api.get(DEALS, token)).status_code == 200, "trusted for the cache time"
    now[0] = 5.0
    assert (await api.get(DEALS, token)).status_code == 401


async def test_only_fully_synced_deals_are_listed(api: Api) -> None:
    owner = new_owner()
    token = await api.store.token(owner)
    await api.store.customer(owner + 1)
    synced = await api.store.deal(owner, owner + 1, last=message(1))
    await api.store.deal(owner, owner + 2)  # no customer row yet
    await api.store.customer(owner + 3)
    await api.store.deal(owner, owner + 3, stored=False)  # no message in DynamoDB yet
    results = (await api.get(DEALS, token)).json()["results"]
    assert [deal["id"] for deal in results] == [synced]
    deal = results[0]
    assert deal["customer"]["id"] == f"tg_{owner + 1}"
    assert deal["last_message"]["text"] == "hello"
    assert "file_id" not in str(deal), "Telegram file ids are not for API clients"
    assert (
        await api.get(f"{DEALS}{await api.store.deal(owner, owner + 4)}/", token)
    ).status_code == 404


async def test_a_deal_without_a_last_message_shows_none(api: Api) -> None:
    owner = new_owner()
    token = await api.store.token(owner)
    await api.store.customer(owner + 1)
    deal = await api.store.deal(owner, owner + 1)
    [listed] = (await api.get(DEALS, token)).json()["results"]
    assert listed["id"] == deal
    assert listed["last_message"] is None
    assert (await api.get(f"{DEALS}{deal}/", token)).json()["last_message"] is None


async def test_avatars_are_presigned_links_handed_out_again_while_fresh(api: Api) -> None:
    owner = new_owner()
    token = await api.store.token(owner)
    await api.store.customer(owner + 1, avatar_key="avatars/0123abcd.jpg")
    deal = await api.store.deal(owner, owner + 1, last=message(1))
    [listed] = (await api.get(DEALS, token)).json()["results"]
    url = listed["customer"]["avatar_url"]
    assert "/avatars/0123abcd.jpg?" in url
    assert "Signature=" in url
    detail = (await api.get(f"{DEALS}{deal}/", token)).json()
    assert detail["customer"]["avatar_url"] == url, "the same link, so browsers can cache it"


async def test_reads_survive_postgresql_dropping_the_pooled_connections(api: Api) -> None:
    owner, [deal] = await _owner_with_deals(api, 1)
    token = await api.store.token(owner)
    assert (await api.get(DEALS, token)).status_code == 200
    async with api.store.engine.connect() as connection:
        dropped = await connection.scalar(
            select(func.count(func.pg_terminate_backend(column("pid"))))
            .select_from(table("pg_stat_activity", column("pid"), column("application_name")))
            .where(column("application_name") == READ_APPLICATION_NAME)
        )
    assert dropped, "the API's read pool had connections to drop"
    assert [d["id"] for d in (await api.get(DEALS, token)).json()["results"]] == [deal]
    assert (await api.get(f"{DEALS}{deal}/", token)).status_code == 200


async def test_owners_are_isolated_and_admins_see_all(api: Api) -> None:
    owner_a, deals_a = await _owner_with_deals(api, 2)
    owner_b, deals_b = await _owner_with_deals(api, 1)
    token_a, admin = await api.store.token(owner_a), await api.store.token(1, admin=True)
    listed = [d["id"] for d in (await api.get(DEALS, token_a)).json()["results"]]
    assert sorted(listed) == sorted(deals_a)
    other = await api.get(f"{DEALS}{deals_b[0]}/", token_a)
    assert other.status_code == 404, "another owner's deal looks like no deal"
    assert (await api.get(f"{DEALS}{deals_b[0]}/messages/", token_a)).status_code == 404
    assert (await api.get(f"{DEALS}?owner_user_id={owner_b}", token_a)).status_code == 403
    as_admin = (await api.get(f"{DEALS}?owner_user_id={owner_b}", admin)).json()["results"]
    assert [d["id"] for d in as_admin] == deals_b
    assert (await api.get(f"{DEALS}{deals_a[0]}/", admin)).status_code == 200


async def test_pages_follow_next_and_previous_newest_first(api: Api) -> None:
    owner, deals = await _owner_with_deals(api, 45)
    token = await api.store.token(owner)
    first = (await api.get(f"{DEALS}?page_size=20", token)).json()
    assert first["previous"] is None
    assert [d["id"] for d in first["results"]] == list(reversed(deals))[:20]
    everything = await _all_pages(api, f"{DEALS}?page_size=20", token)
    assert [d["id"] for d in everything] == list(reversed(deals))
    second = (await api.get(first["next"], token)).json()
    back = (await api.get(second["previous"], token)).json()
    assert [d["id"] for d in back["results"]] == [d["id"] for d in first["results"]]
    assert back["previous"] is None


async def test_paging_is_stable_while_new_deals_arrive(api: Api) -> None:
    owner, deals = await _owner_with_deals(api, 30)
    token = await api.store.token(owner)
    page = (await api.get(f"{DEALS}?page_size=7", token)).json()
    seen = [d["id"] for d in page["results"]]
    newcomer = owner + 500
    while page["next"]:
        await api.store.customer(newcomer)  # a new deal arrives between every two pages
        await api.store.deal(owner, newcomer, minutes=1000 + newcomer - owner, last=message(1))
        newcomer += 1
        page = (await api.get(page["next"], token)).json()
        seen.extend(d["id"] for d in page["results"])
    assert seen == list(reversed(deals)), "no deal skipped or repeated across pages"


async def test_detail_has_the_newest_messages_and_history_pages_to_the_start(api: Api) -> None:
    owner, [deal] = await _owner_with_deals(api, 1)
    token = await api.store.token(owner)
    history = [message(i, text=f"m{i}", minutes=i) for i in range(1, 121)]
    edits: dict[int, list[dict[str, Any]]] = {
        120: [{"version": 1, "edit_date": None, "text": "first draft", "entities": []}]
    }
    await api.store.messages(deal, history, edits)
    detail = (await api.get(f"{DEALS}{deal}/", token)).json()
    assert [m["id"] for m in detail["messages"]] == list(range(71, 121))
    assert detail["messages"][-1]["edits"][0]["text"] == "first draft"
    assert detail["messages"][0]["media"] == {
        "type": "photo",
        "mime_type": None,
        "file_name": None,
        "file_size": None,
        "width": 800,
        "height": 600,
        "duration": None,
        "emoji": None,
        "service": None,
    }
    older = await _all_pages(api, detail["messages_next"], token)
    assert [m["id"] for m in older] == [i for chunk in (range(21, 71), range(1, 21)) for i in chunk]
    full = await _all_pages(api, f"{DEALS}{deal}/messages/?page_size=50", token)
    assert sorted(m["id"] for m in full) == list(range(1, 121))
    page = (await api.get(f"{DEALS}{deal}/messages/?page_size=50", token)).json()
    newer = (await api.get((await api.get(page["next"], token)).json()["previous"], token)).json()
    assert [m["id"] for m in newer["results"]] == [m["id"] for m in page["results"]]


async def test_filters_by_name_and_update_time(api: Api) -> None:
    owner, deals = await _owner_with_deals(api, 3)
    token = await api.store.token(owner)
    named = (await api.get(f"{DEALS}?q=user1", token)).json()["results"]
    assert [d["id"] for d in named] == [deals[1]]
    assert (await api.get(f"{DEALS}?q=%25", token)).json()["results"] == []
    since = (await api.get(f"{DEALS}?updated_since=2026-03-01T00:01:30Z", token)).json()
    assert [d["id"] for d in since["results"]] == [deals[2]]


@pytest.mark.parametrize(
    "query",
    [
        "page_size=0",
        "page_size=101",
        "page_size=many",
        "cursor=bm90LWEtY3Vyc29y",
        "cursor=%%%",
        "updated_since=yesterday",
        "unknown=1",
        "q=" + "x" * 201,
        "q=a%00b",  # PostgreSQL text cannot hold NUL
    ],
)
async def test_invalid_query_parameters_are_422_with_what_was_wrong(api: Api, query: str) -> None:
    token = await api.store.token(new_owner())
    response = await api.get(f"{DEALS}?{query}", token)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] in ("invalid_parameters", "invalid_cursor")
    assert error["message"]


async def test_a_deal_id_with_nul_is_not_found(api: Api) -> None:
    token = await api.store.token(new_owner())
    for path in (f"{DEALS}deal_%00/", f"{DEALS}deal_%00/messages/"):
        response = await api.get(path, token)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


async def test_unknown_routes_and_methods_use_the_error_shape(api: Api) -> None:
    token = await api.store.token(new_owner())
    missing = await api.get("/api/v1/nothing-here/", token)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = await api.client.delete(DEALS, headers={"Authorization": f"Bearer {token}"})
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"


async def test_health_readiness_and_openapi(api: Api) -> None:
    assert (await api.client.get("/healthz")).json()["status"] == "ok"
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    spec = (await api.client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    assert {
        "/api/v1/deals/",
        "/api/v1/deals/{deal_id}/",
        "/api/v1/deals/{deal_id}/messages/",
    } <= set(spec["paths"])
    assert "DealPage" in spec["components"]["schemas"]
    page = await api.client.get("/docs/")
    assert page.status_code == 200
    assert "<code>/api/v1/deals/{deal_id}/messages/</code>" in page.text


async def test_mark_read_puts_a_command_on_chat_commands(api: Api) -> None:
    owner, [deal] = await _owner_with_deals(api, 1)
    token = await api.store.token(owner)
    headers = {"Authorization": f"Bearer {token}"}
    response = await api.client.post(
        f"{DEALS}{deal}/read/", json={"message_id": 1}, headers=headers
    )
    assert response.status_code == 202, response.text
    command_id = response.json()["command_id"]
    settings = api.app.state.settings
    records = await read_topic(settings.kafka_bootstrap_servers, settings.topic_commands)
    commands = [json.loads(r.value) for r in records]
    [command] = [c for c in commands if c["command_id"] == command_id]
    assert command["command_type"] == "mark_read"
    assert command["deal_id"] == deal
    other = await api.store.token(new_owner())
    refused = await api.client.post(
        f"{DEALS}{deal}/read/", json={}, headers={"Authorization": f"Bearer {other}"}
    )
    assert refused.status_code == 404
    bad = await api.client.post(f"{DEALS}{deal}/read/", json={"message_id": 0}, headers=headers)
    assert bad.status_code == 422
