"""The web pages' routes and record formatting, without a stack: the pages are public and hold no
data, their JSON endpoints need a token (an admin one for the dashboard's) and answer in the API's
error shape, and Kafka records become the previews and summaries the dashboard shows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from chatsync.api.errors import ApiError, on_api_error, on_http_error
from chatsync.api.pages import routes, views
from chatsync.api.pages.formatting import dead_letter_out, event_out, preview
from chatsync.api.pages.tail import TailRecord, TailUnavailable
from chatsync.infra.postgres.tokens import Principal
from chatsync.settings import Settings

ADMIN = Principal(token_id=1, user_id=7, is_admin=True)
OWNER = Principal(token_id=2, user_id=42, is_admin=False)
JSON_ROUTES = (
    "/dashboard/api/config/",
    "/dashboard/api/dead-letters/",
    "/dashboard/api/latest-events/",
    "/chats/api/me/",
)


def record(
    value: bytes | None, *, topic: str = "chat.messages", offset: int = 3, size: int | None = None,
    headers: Sequence[tuple[str, bytes]] = (), key: bytes | None = b"deal_1",
) -> TailRecord:  # fmt: skip
    return TailRecord(
        topic=topic, partition=1, offset=offset, timestamp_ms=1_763_700_000_000, key=key,
        value=value, value_size=len(value or b"") if size is None else size,
        headers=tuple(headers),
    )  # fmt: skip


# --- previews and summaries -------------------------------------------------------------------


def test_a_preview_is_the_text_cut_to_its_length() -> None:
    assert preview(b'{"a": 1}', 8) == ('{"a": 1}', False)
    assert preview("ж".encode() * 400, 800, chars=10) == ("ж" * 10 + "…", True)
    assert preview(None, 0) == (None, False)


def test_a_value_cut_inside_a_character_is_still_text() -> None:
    head = ("дом" * 3).encode()[:-1]  # the reader kept only part of the value, mid-character
    assert preview(head, 1000) == ("домдомдо…", True)


def test_bytes_that_are_not_utf8_show_as_hex() -> None:
    text, cut = preview(b"\xff\xfe\x00\x01", 4)
    assert text == "<4 bytes, not UTF-8> ff fe 00 01"
    assert cut is False


def test_a_dead_letter_says_where_it_came_from_and_why_it_failed() -> None:
    out = dead_letter_out(record(b"\x00raw", topic="chat.dlq", headers=[
        ("dlq.stage", b"normalise"), ("dlq.error", b"KeyError: 'chat'"),
        ("dlq.at", b"2026-03-01T10:00:00+00:00"), ("dlq.source.topic", b"tg.raw.botapi"),
        ("dlq.source.partition", b"2"), ("dlq.source.offset", b"17"),
    ]))  # fmt: skip
    assert out["stage"] == "normalise"
    assert out["error"] == "KeyError: 'chat'"
    assert out["dead_lettered_at"] == "2026-03-01T10:00:00+00:00"
    assert out["source"] == {"topic": "tg.raw.botapi", "partition": 2, "offset": 17}
    assert out["headers"]["dlq.stage"] == "normalise"
    assert out["key"] == "deal_1"
    assert out["value_preview"] == "\x00raw"
    assert out["value_bytes"] == 4
    assert out["timestamp"] == "2025-11-21T04:40:00+00:00"


def test_a_dead_letter_from_the_webhook_has_no_source_and_a_cut_value() -> None:
    body = json.dumps({"update_id": 5, "text": "x" * 5000}).encode()
    out = dead_letter_out(record(body[:4096], size=len(body), key=None,
                                 headers=[("dlq.stage", b"webhook")]))  # fmt: skip
    assert out["source"] is None
    assert out["key"] is None
    assert out["value_truncated"] is True
    assert out["value_bytes"] == len(body)
    assert out["value_preview"].startswith('{"update_id": 5')


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return json.dumps({"event_type": kind, "event_id": "e1", "deal_id": "deal_1",
                       "owner_user_id": 42, "occurred_at": "2026-03-01T10:00:00Z",
                       "data": data}).encode()  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "data", "summary"),
    [
        ("message.created", {"message_id": 5, "direction": "in", "text": "Привет,\n мир"},
         "← #5 Привет, мир"),
        ("message.edited", {"message_id": 6, "direction": "out", "text": None,
                            "media": {"type": "photo"}}, "→ #6 [photo]"),
        ("message.created", {"message_id": 7, "direction": "in", "text": "a" * 200},
         "← #7 " + "a" * 79 + "…"),
        ("deal.updated", {"customer_id": "tg_1", "message_count": 3, "unread_count": 1},
         "customer tg_1, 3 messages, 1 unread"),
        ("customer.created", {"customer_id": "tg_1", "first_name": "Anna", "last_name": None,
                              "username": "anna"}, "Anna @anna"),
    ],
)  # fmt: skip
def test_events_get_a_one_line_summary(kind: str, data: dict[str, Any], summary: str) -> None:
    out = event_out(record(_event(kind, data)))
    assert out["summary"] == summary
    assert out["event_type"] == kind
    assert (out["deal_id"], out["owner_user_id"], out["offset"]) == ("deal_1", 42, 3)


def test_records_that_are_not_events_are_said_so() -> None:
    assert event_out(record(None))["summary"] == "tombstone"
    assert event_out(record(b"{not json"))["summary"] == "not a readable event (9 bytes)"
    cut = event_out(record(_event("deal.created", {})[:20], size=500))
    assert cut["summary"] == "not a readable event (500 bytes)"
    assert cut["event_type"] is None


# --- routes ------------------------------------------------------------------------------------


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(
        routes=routes(),
        exception_handlers={ApiError: on_api_error, HTTPException: on_http_error},
    )
    app.state.settings = Settings(_env_file=None)
    app.state.engine = app.state.read_engine = None  # bad tokens are refused before any lookup
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def signed_in(monkeypatch: pytest.MonkeyPatch) -> dict[str, Principal]:
    """Requests act for whoever the test puts under "principal"."""
    who = {"principal": ADMIN}

    async def authenticate(connection: HTTPConnection, token: str | None = None) -> Principal:
        return who["principal"]

    monkeypatch.setattr(views, "authenticate", authenticate)
    return who


@pytest.mark.parametrize("path", ["/dashboard/", "/chats/"])
async def test_the_pages_are_public_html_without_data(client: httpx.AsyncClient, path: str) -> None:
    page = await client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert 'id="signin"' in page.text
    assert '<script type="module" src="/pages/static/' in page.text
    assert "://" not in page.text, "nothing from another origin (no CDN)"


async def test_static_files_are_served_and_nothing_else(client: httpx.AsyncClient) -> None:
    script = await client.get("/pages/static/chats.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert script.headers["cache-control"] == "no-cache"
    assert "innerHTML" not in script.text
    assert (
        (await client.get("/pages/static/pages.css")).headers["content-type"].startswith("text/css")
    )
    assert (await client.get("/pages/static/../routes.py")).status_code == 404
    assert (await client.get("/pages/static/missing.js")).status_code == 404


@pytest.mark.parametrize("path", JSON_ROUTES)
async def test_json_routes_need_a_token(client: httpx.AsyncClient, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer not-one-of-ours"}):
        answer = await client.get(path, headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "unauthorized"
        assert answer.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", JSON_ROUTES[:3])
async def test_dashboard_routes_need_an_admin(
    client: httpx.AsyncClient, signed_in: dict[str, Principal], path: str
) -> None:
    signed_in["principal"] = OWNER
    answer = await client.get(path)
    assert answer.status_code == 403
    assert answer.json() == {"error": {"code": "forbidden", "message": "this needs an admin token"}}


async def test_me_says_whose_stream_to_open(
    client: httpx.AsyncClient, signed_in: dict[str, Principal]
) -> None:
    signed_in["principal"] = OWNER
    assert (await client.get("/chats/api/me/")).json() == {"user_id": 42, "is_admin": False}
    signed_in["principal"] = ADMIN
    assert (await client.get("/chats/api/me/")).json() == {"user_id": 7, "is_admin": True}


async def test_config_names_the_topics_by_role(
    client: httpx.AsyncClient, signed_in: dict[str, Any]
) -> None:
    body = (await client.get("/dashboard/api/config/")).json()
    assert body["topics"] == {
        "raw": ["tg.raw.botapi", "tg.raw.mtproto"],
        "normalised": ["chat.deals", "chat.messages", "chat.customers"],
        "dlq": "chat.dlq",
        "commands": "chat.commands",
    }
    assert body["poll_interval_ms"] == 2000


@pytest.fixture
def tails(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """read_tail replaced: records what it was asked, answers from ``answer``."""
    calls: list[dict[str, Any]] = []

    async def read_tail(
        servers: str, topics: Sequence[str], limit: int, *, max_value_bytes: int
    ) -> list[TailRecord]:
        calls.append({"topics": list(topics), "limit": limit, "max": max_value_bytes})
        answer = calls[0].get("answer", [])
        if isinstance(answer, Exception):
            raise answer
        return list(answer)

    monkeypatch.setattr(views, "read_tail", read_tail)
    calls.append({})  # calls[0] holds the answer; calls[1:] the calls
    return calls


async def test_dead_letters_read_the_dlq_tail(
    client: httpx.AsyncClient, signed_in: dict[str, Any], tails: list[dict[str, Any]]
) -> None:
    tails[0]["answer"] = [record(b"{}", topic="chat.dlq", headers=[("dlq.stage", b"webhook")])]
    body = (await client.get("/dashboard/api/dead-letters/?limit=5")).json()
    assert tails[1] == {"topics": ["chat.dlq"], "limit": 5, "max": 4096}
    assert body["topic"] == "chat.dlq"
    assert [(r["stage"], r["value_preview"]) for r in body["results"]] == [("webhook", "{}")]


async def test_latest_events_read_the_three_event_topics(
    client: httpx.AsyncClient, signed_in: dict[str, Any], tails: list[dict[str, Any]]
) -> None:
    tails[0]["answer"] = [record(_event("message.created", {"message_id": 1, "text": "hi"}))]
    body = (await client.get("/dashboard/api/latest-events/")).json()
    assert tails[1]["topics"] == ["chat.deals", "chat.messages", "chat.customers"]
    assert tails[1]["limit"] == 20
    assert body["results"][0]["summary"] == "← #1 hi"


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "offset=3"])
async def test_bad_limits_are_422(
    client: httpx.AsyncClient, signed_in: dict[str, Any], tails: list[dict[str, Any]], query: str
) -> None:
    answer = await client.get(f"/dashboard/api/latest-events/?{query}")
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_parameters"
    assert len(tails) == 1, "Kafka is not read for a bad request"


async def test_kafka_not_answering_is_503(
    client: httpx.AsyncClient, signed_in: dict[str, Any], tails: list[dict[str, Any]]
) -> None:
    tails[0]["answer"] = TailUnavailable("KafkaConnectionError: no broker")
    answer = await client.get("/dashboard/api/dead-letters/")
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "unavailable"
    assert answer.headers["retry-after"] == "2"
