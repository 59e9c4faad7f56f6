"""The web pages in a real browser (headless Chromium driven by Playwright) against the whole
system: a real `chatsync api` process with the webhook enabled, a real `chatsync worker`, the
sinks writing PostgreSQL and DynamoDB, all on fresh topics and a fresh messages table.

The chats view lists the owner's deals from the demo feed posted through the webhook, and a
message posted to the webhook while a deal is open appears in it without a reload (webhook ->
raw topic -> worker -> chat.messages -> hub -> WebSocket -> DOM), as do its edit and deletion.
After the API process is killed and restarted, the page resumes with its last cursor and shows
what happened meanwhile. The dashboard shows non-zero counts, updates by itself, and shows a
dead letter. Screenshots (desktop and phone) go to test-artifacts/pages/.

Skipped when /usr/bin/chromium (Debian's ``chromium`` package) is not installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from chatsync.agents.sinks_cli import sink_runners
from chatsync.identity import deal_id
from chatsync.infra.aws import dynamodb_client
from chatsync.infra.db import create_engine
from chatsync.infra.dynamodb import messages_table_definition
from chatsync.infra.kafka_status import broker_status
from chatsync.infra.postgres.tokens import create_token
from chatsync.infra.sinks.policy import Backoff, SinkOptions
from chatsync.infra.stack.stack import Stack
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo.scenario import demo_updates
from chatsync.producers.demo.shapes import business_message, private_chat, update, user
from chatsync.settings import Settings
from tests.conftest import ROOT, free_port, stack_environment
from tests.kafka_helpers import read_topic

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)"),
]
try:
    from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect
except ImportError:  # pragma: no cover - a dev dependency; without it there is nothing to drive
    pytest.skip("needs playwright (pip install playwright)", allow_module_level=True)

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = ROOT / "test-artifacts" / "pages"
DESKTOP: ViewportSize = {"width": 1366, "height": 860}
PHONE: ViewportSize = {"width": 390, "height": 844}
LIVE_S = 15  # a live update normally shows within a second or two; this only bounds a failure
SECRET = "pages-webhook-secret-" + uuid.uuid4().hex[:8]
FAST_SINKS = SinkOptions(batch_max_records=200, batch_max_wait_s=0.1,
                         backoff=Backoff(initial_s=0.2, max_s=2.0), lag_refresh_s=0.2)  # fmt: skip

# Runs `chatsync api` exactly as the command does, adding the pages' routes if the app does not
# have them yet (until chatsync/api/app.py adds `*pages.routes()`; then this adds nothing).
API_LAUNCHER = """
import sys
import chatsync.api.cli as api_cli
from chatsync.api import pages
from chatsync.cli import main

build = api_cli.create_app

def create_app(settings):
    app = build(settings)
    if not any(getattr(route, "path", None) == "/dashboard/" for route in app.routes):
        app.router.routes[:0] = pages.routes()
    return app

api_cli.create_app = create_app
sys.argv = ["chatsync", "api"]
main()
"""


@dataclass
class Chat:
    """One conversation of the demo feed, enough to write new updates into it."""

    owner_id: int
    connection_id: str
    customer: dict[str, Any]
    last_message_id: int

    @property
    def deal_id(self) -> str:
        return deal_id(self.owner_id, self.customer["id"])


@dataclass
class System:
    url: str
    settings: Settings
    env: dict[str, str]
    owner_id: int
    owner_token: str
    admin_token: str
    chats: list[Chat]
    api: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    update_ids: list[int] = field(default_factory=lambda: [900_000_000])

    def next_update_id(self) -> int:
        self.update_ids[0] += 1
        return self.update_ids[0]

    def next_message_id(self, chat: Chat) -> int:
        chat.last_message_id += 1
        return chat.last_message_id

    async def post(self, payload: dict[str, Any]) -> None:
        """An update through the real webhook, as Telegram sends it."""
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{self.url}/telegram/webhook/",
                content=json.dumps(payload, ensure_ascii=False).encode(),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET,
                         "Content-Type": "application/json"},
            )  # fmt: skip
        assert response.status_code == 200, response.text

    def message_update(
        self, chat: Chat, message_id: int, text: str, *, kind: str = "business_message",
        date: int | None = None, **extra: Any,
    ) -> dict[str, Any]:  # fmt: skip
        message = business_message(
            connection_id=chat.connection_id, message_id=message_id, sender=chat.customer,
            chat=private_chat(chat.customer), date=date or int(time.time()), text=text, **extra,
        )  # fmt: skip
        return update(self.next_update_id(), kind, message)

    def deleted_update(self, chat: Chat, message_ids: list[int]) -> dict[str, Any]:
        return update(self.next_update_id(), "deleted_business_messages", {
            "business_connection_id": chat.connection_id,
            "chat": private_chat(chat.customer), "message_ids": message_ids,
        })  # fmt: skip

    async def publish_raw(self, payload: dict[str, Any]) -> None:
        """An update straight into the raw topic, as the webhook writes it (without the API)."""
        envelope = botapi_envelope(payload, describe_update(payload), None)
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers, acks="all"
        )
        await producer.start()
        try:
            await producer.send_and_wait(
                self.settings.topic_raw_botapi, envelope.to_bytes(), key=envelope.partition_key()
            )
        finally:
            await producer.stop()

    async def message_event(self, chat: Chat, message_id: int) -> bool:
        """Whether the worker published an event of this message on chat.messages."""
        records = await read_topic(
            self.settings.kafka_bootstrap_servers, self.settings.topic_messages, timeout_ms=500
        )
        return any(
            (event := json.loads(r.value))["deal_id"] == chat.deal_id
            and event["data"]["message_id"] == message_id
            for r in records if r.value
        )  # fmt: skip

    async def get(self, path: str, token: str) -> Any:
        async with httpx.AsyncClient() as client:
            response = await client.get(
                f"{self.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
        assert response.status_code == 200, response.text
        return response.json()

    def start_api(self) -> None:
        with (ROOT / "var" / "test-pages-api.log").open("ab") as log:
            self.api = subprocess.Popen(
                [sys.executable, "-c", API_LAUNCHER], env=self.env, cwd=ROOT,
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    async def api_ready(self) -> None:
        async with httpx.AsyncClient() as client:
            for _ in range(240):
                assert self.api is not None
                assert self.api.poll() is None, "chatsync api exited: see var/test-pages-api.log"
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{self.url}/healthz", timeout=1)).status_code == 200:
                        return
                await asyncio.sleep(0.25)
        raise TimeoutError("chatsync api did not come up")

    async def kill_api(self) -> None:
        assert self.api is not None
        self.api.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.api.wait, 30)


def _chats_of(feed: list[dict[str, Any]], owner_id: int) -> list[Chat]:
    """Every conversation of the owner in the feed (a deal each)."""
    connection = next(
        u["business_connection"]["id"] for u in feed
        if "business_connection" in u and u["business_connection"]["user"]["id"] == owner_id
    )  # fmt: skip
    chats: dict[int, Chat] = {}
    highest = 0
    for item in feed:
        message = item.get("business_message") or item.get("edited_business_message")
        if not message or message["business_connection_id"] != connection:
            continue
        highest = max(highest, message["message_id"])
        chat = message["chat"]
        customer = user(chat["id"], chat["first_name"], chat.get("last_name"), chat.get("username"))
        chats.setdefault(chat["id"], Chat(owner_id, connection, customer, 0))
    for chat_ in chats.values():
        chat_.last_message_id = highest + 1000
    return list(chats.values())


async def _create_topics(servers: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 2, 1) for name in names])
    finally:
        await admin.close()


async def _wait_for(what: str, check: Any, timeout_s: float = 180) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"never happened: {what}")
        await asyncio.sleep(0.5)


async def _quiet(settings: Settings, run: str) -> bool:
    """The worker and both sinks exist and have processed everything (twice in a row)."""
    for attempt in range(2):
        status = await broker_status(settings.kafka_bootstrap_servers, [], (run,))
        lags = {group.group: group.total for group in status.groups}
        if len(lags) < 3 or any(lags.values()):
            return False
        if not attempt:
            await asyncio.sleep(1)
    return True


@pytest.fixture(scope="module")
async def system(local_stack: Stack) -> AsyncIterator[System]:
    run = f"pages-{uuid.uuid4().hex[:8]}"
    topics = {
        name: f"{run}-{name.removeprefix('topic_').replace('_', '-')}"
        for name in ("topic_raw_botapi", "topic_raw_mtproto", "topic_deals", "topic_messages",
                     "topic_customers", "topic_commands", "topic_dlq")
    }  # fmt: skip
    base = local_stack.settings
    await _create_topics(base.kafka_bootstrap_servers, list(topics.values()))
    settings = base.model_copy(update={**topics, "dynamodb_messages_table": f"{run}-messages",
                                       "worker_app_id": f"{run}-worker",
                                       "kafka_topic_partitions": 2})  # fmt: skip
    async with dynamodb_client(settings) as client:
        await client.create_table(**messages_table_definition(settings.dynamodb_messages_table))
    port = free_port()
    env = {
        **os.environ, **stack_environment(),
        **{name.upper(): value for name, value in topics.items()},
        "DYNAMODB_MESSAGES_TABLE": settings.dynamodb_messages_table,
        "WORKER_APP_ID": settings.worker_app_id, "WORKER_COMMIT_INTERVAL_MS": "200",
        "KAFKA_TOPIC_PARTITIONS": "2", "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "API_PORT": str(port), "LOG_LEVEL": "WARNING",
    }  # fmt: skip
    env.pop("TELEGRAM_BOT_TOKEN", None)
    feed = demo_updates(seed=random.randrange(10**9), owners=2, customers_per_owner=3,
                        messages_per_chat=6)  # fmt: skip
    owner_id = feed[0]["business_connection"]["user"]["id"]
    engine = create_engine(settings, pool_size=1)
    try:
        owner_token = (await create_token(engine, user_id=owner_id, admin=False, name=run))[1]
        admin_token = (await create_token(engine, user_id=1, admin=True, name=run))[1]
    finally:
        await engine.dispose()
    system = System(f"http://127.0.0.1:{port}", settings, env, owner_id, owner_token, admin_token,
                    _chats_of(feed, owner_id))  # fmt: skip
    with (ROOT / "var" / f"{settings.worker_app_id}.log").open("ab") as log:
        system.worker = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once
            [sys.executable, "-m", "chatsync", "worker"], env=env, cwd=ROOT,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    system.start_api()
    try:
        async with sink_runners(settings, group_prefix=f"{run}-sink-", options=FAST_SINKS) as sinks:
            tasks = [asyncio.create_task(runner.run()) for runner in sinks]
            try:
                await system.api_ready()
                for item in feed:
                    await system.post(item)

                async def all_deals_listed() -> bool:
                    page = await system.get("/api/v1/deals/?page_size=100", owner_token)
                    return len(page["results"]) == len(system.chats)

                await _wait_for("the owner's deals in the API", all_deals_listed)
                await _wait_for(
                    "the worker and the sinks to be idle", lambda: _quiet(settings, run)
                )
                yield system
            finally:
                for runner in sinks:
                    runner.stop()
                await asyncio.gather(*tasks)
    finally:
        for process in (system.api, system.worker):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.to_thread(process.wait, 30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    await asyncio.to_thread(process.wait, 30)
        async with dynamodb_client(settings) as client:
            await client.delete_table(TableName=settings.dynamodb_messages_table)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def _page(browser: Browser, viewport: ViewportSize, **options: Any) -> AsyncIterator[Page]:
    """A fresh browser context (its own sessionStorage); page errors fail the test."""
    context = await browser.new_context(viewport=viewport, **options)
    page = await context.new_page()
    errors: list[str] = []  # uncaught exceptions (refused requests and sockets are expected)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security" in m.text else None)
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"errors in the page: {errors}"


async def _sign_in(page: Page, url: str, token: str) -> None:
    await page.goto(url)
    await page.fill("#token", token)
    await page.click("#signin button[type=submit]")


async def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


async def test_pages_are_public_and_their_data_needs_a_token(system: System) -> None:
    async with httpx.AsyncClient(base_url=system.url) as client:
        for path in ("/dashboard/", "/chats/"):
            page = await client.get(path)
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert "script-src 'self'" in page.headers["content-security-policy"]
            assert "cs_" not in page.text.replace("cs_…", "")
        script = await client.get("/pages/static/chats.js")
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]
        for path in ("/dashboard/api/dead-letters/", "/dashboard/api/latest-events/",
                     "/dashboard/api/config/", "/chats/api/me/"):  # fmt: skip
            anonymous = await client.get(path)
            assert anonymous.status_code == 401
            assert anonymous.json()["error"]["code"] == "unauthorized"
        owner = {"Authorization": f"Bearer {system.owner_token}"}
        for path in ("/dashboard/api/dead-letters/", "/dashboard/api/latest-events/"):
            forbidden = await client.get(path, headers=owner)
            assert forbidden.status_code == 403
            assert forbidden.json()["error"]["code"] == "forbidden"
        me = await client.get("/chats/api/me/", headers=owner)
        assert me.json() == {"user_id": system.owner_id, "is_admin": False}
    events = await system.get("/dashboard/api/latest-events/?limit=5", system.admin_token)
    assert len(events["results"]) == 5
    assert all(e["event_type"] and e["summary"] for e in events["results"])
    stamps = [e["timestamp"] for e in events["results"]]
    assert stamps == sorted(stamps, reverse=True), "newest first"


async def test_chats_view_shows_a_new_message_live_with_its_edit_and_deletion(
    system: System, browser: Browser
) -> None:
    chat = system.chats[0]
    detail = await system.get(f"/api/v1/deals/{chat.deal_id}/", system.owner_token)
    async with _page(browser, DESKTOP) as page:
        await _sign_in(page, f"{system.url}/chats/", system.owner_token)
        deals = page.locator("#deals li[data-deal-id]")
        await expect(deals).to_have_count(len(system.chats), timeout=LIVE_S * 1000)
        await expect(page.locator("#state")).to_have_text("live", timeout=LIVE_S * 1000)
        await page.click(f"#deals li[data-deal-id='{chat.deal_id}'] button")
        messages = page.locator("#messages li.msg")
        await expect(messages).to_have_count(len(detail["messages"]), timeout=LIVE_S * 1000)
        for message in detail["messages"]:  # every message is there, with its media placeholder
            node = page.locator(f"#messages li[data-message-id='{message['id']}']")
            if message["media"]:
                await expect(node.locator(".media")).to_contain_text(f"[{message['media']['type']}")
            if message["is_deleted"]:
                await expect(node).to_have_class(re.compile(r"\bdeleted\b"))
        await _shot(page, "chats-desktop-open")
        await page.evaluate("window.sameDocument = true")

        # A new message, through the webhook, while the deal is open.
        message_id = system.next_message_id(chat)
        text = f"Is the sofa still available? <img src=x onerror=alert(1)> {uuid.uuid4().hex[:6]}"
        started, sent_at = time.monotonic(), int(time.time())
        await system.post(system.message_update(chat, message_id, text, date=sent_at))
        new = page.locator(f"#messages li[data-message-id='{message_id}']")
        await expect(new.locator(".text")).to_have_text(text, timeout=LIVE_S * 1000)
        shown = f"live message shown {time.monotonic() - started:.2f} s after the webhook answered"
        print(shown)  # a figure for the record (test-artifacts), not a timed assertion
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "live-message-latency.txt").write_text(shown + "\n")
        assert await page.evaluate("window.sameDocument") is True, "the page was not reloaded"
        assert await new.locator("img").count() == 0, "text is shown as text, never as HTML"
        await expect(messages.last).to_have_attribute("data-message-id", str(message_id))
        first_deal = page.locator("#deals li[data-deal-id]").first
        await expect(first_deal).to_have_attribute("data-deal-id", chat.deal_id)  # newest first
        await expect(first_deal.locator(".deal-preview")).to_contain_text("Is the sofa")

        # Its edit: the new text, and an "edited" marker that reveals the earlier version.
        # As Telegram sends an edit: the message's own date, a later edit_date. (An edit_date in
        # the second of the original gets the original's version, and the store keeps the
        # original while the stream shows the edit: a known gap between normaliser and sink.)
        edited = text.replace("still available", "available in grey")
        await system.post(system.message_update(
            chat, message_id, edited, kind="edited_business_message", date=sent_at,
            edit_date=sent_at + 1,
        ))  # fmt: skip
        await expect(new.locator(".text")).to_have_text(edited, timeout=LIVE_S * 1000)
        await new.locator("details.edits summary").click()
        await expect(new.locator("details.edits li")).to_have_text(f"original: {text}")

        async def stored_edit() -> bool:
            found = await system.get(f"/api/v1/deals/{chat.deal_id}/", system.owner_token)
            return any(m["id"] == message_id and m["edits"] for m in found["messages"])

        await _wait_for("the edit in the store", stored_edit, 60)
        async with _page(browser, DESKTOP) as fresh:  # now the history comes from REST `edits`
            await _sign_in(fresh, f"{system.url}/chats/#deal={chat.deal_id}", system.owner_token)
            stored = fresh.locator(f"#messages li[data-message-id='{message_id}']")
            await stored.locator("details.edits summary").click(timeout=LIVE_S * 1000)
            await expect(stored.locator("details.edits li")).to_have_text(f"original: {text}")
            await _shot(fresh, "chats-desktop-edit-history")

        # Its deletion: struck through and marked, not removed.
        await system.post(system.deleted_update(chat, [message_id]))
        await expect(new).to_have_class(re.compile(r"\bdeleted\b"), timeout=LIVE_S * 1000)
        await expect(new.locator(".deleted-mark")).to_have_text("deleted")
        await _shot(page, "chats-desktop-live")

        # Mark read: the API accepts it and a mark_read command reaches the commands topic.
        await page.click("#mark-read")
        await expect(page.locator("#chat-notice")).to_have_text("Read mark requested.")
        records = await read_topic(system.settings.kafka_bootstrap_servers,
                                   system.settings.topic_commands, timeout_ms=2000)  # fmt: skip
        reads = [c for c in (json.loads(r.value) for r in records if r.value)
                 if c["command_type"] == "mark_read"]  # fmt: skip
        assert [(c["deal_id"], c["up_to_message_id"]) for c in reads] == [
            (chat.deal_id, message_id)
        ]
        assert await page.evaluate("window.sameDocument") is True


async def test_chats_view_resumes_with_its_cursor_after_the_api_restarts(
    system: System, browser: Browser
) -> None:
    chat = system.chats[1]
    async with _page(browser, DESKTOP) as page:
        await _sign_in(page, f"{system.url}/chats/#deal={chat.deal_id}", system.owner_token)
        await expect(page.locator("#chat-header")).to_be_visible(timeout=LIVE_S * 1000)
        await expect(page.locator("#state")).to_have_text("live", timeout=LIVE_S * 1000)
        before = system.next_message_id(chat)
        await system.post(system.message_update(chat, before, "before the restart"))
        await expect(page.locator(f"li[data-message-id='{before}']")).to_be_visible(
            timeout=LIVE_S * 1000
        )  # the page holds a cursor now
        await page.evaluate("window.sameDocument = true")

        await system.kill_api()
        await expect(page.locator("#state")).to_contain_text(
            re.compile("reconnecting|resuming"), timeout=10_000
        )
        # Written while no API runs: the page can only learn of it by resuming from its cursor
        # (a fresh stream starts at the end of the topics, and nothing is reloaded over REST).
        during = system.next_message_id(chat)
        await system.publish_raw(system.message_update(chat, during, "while the page was away"))
        await _wait_for("the worker's event", lambda: system.message_event(chat, during), 60)
        system.start_api()
        await system.api_ready()
        await expect(page.locator(f"li[data-message-id='{during}']")).to_be_visible(timeout=60_000)
        await expect(page.locator(f"li[data-message-id='{before}']")).to_have_count(1)
        await expect(page.locator("#state")).to_have_text("live")
        assert await page.evaluate("window.sameDocument") is True


async def test_chats_view_on_a_phone(system: System, browser: Browser) -> None:
    chat = system.chats[0]
    async with _page(browser, PHONE, is_mobile=True, has_touch=True) as page:
        await _sign_in(page, f"{system.url}/chats/", system.owner_token)
        await expect(page.locator("#deals li[data-deal-id]")).to_have_count(len(system.chats))
        await expect(page.locator("#chat")).to_be_hidden()
        await _shot(page, "chats-phone-list")
        await page.click(f"#deals li[data-deal-id='{chat.deal_id}'] button")
        await expect(page.locator("#messages li.msg").first).to_be_visible(timeout=LIVE_S * 1000)
        await expect(page.locator(".deal-pane")).to_be_hidden()
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        await _shot(page, "chats-phone-open")
        await page.click("#back")
        await expect(page.locator(".deal-pane")).to_be_visible()


async def test_older_messages_load_page_by_page(system: System, browser: Browser) -> None:
    chat = system.chats[2]
    for n in range(55):
        await system.post(system.message_update(chat, system.next_message_id(chat), f"line {n}"))

    async def stored() -> Any:
        detail = await system.get(f"/api/v1/deals/{chat.deal_id}/", system.owner_token)
        return detail if detail["messages"][-1]["text"] == "line 54" else None

    detail = await _wait_for("the 55 messages in the store", stored, 120)
    assert detail["messages_next"], "more than one page"
    total = detail["message_count"]
    async with _page(browser, DESKTOP) as page:
        await _sign_in(page, f"{system.url}/chats/#deal={chat.deal_id}", system.owner_token)
        messages = page.locator("#messages li.msg")
        await expect(messages).to_have_count(len(detail["messages"]), timeout=LIVE_S * 1000)
        await expect(messages.last.locator(".text")).to_have_text("line 54")
        older = page.locator("#messages li.older button")
        await older.click()
        await expect(messages).to_have_count(total, timeout=LIVE_S * 1000)
        await expect(older).to_have_count(0)
        ids = [
            int(i) for i in await messages.evaluate_all("ns => ns.map(n => n.dataset.messageId)")
        ]
        assert ids == sorted(ids), "oldest first, no duplicate"
        assert len(set(ids)) == total


async def test_sign_in_is_refused_with_a_bad_token_and_without_admin_rights(
    system: System, browser: Browser
) -> None:
    async with _page(browser, DESKTOP) as page:
        await _sign_in(page, f"{system.url}/chats/", "cs_not-a-real-token")
        await expect(page.locator("#signin-error")).to_contain_text("not valid")
        await expect(page.locator("#app")).to_be_hidden()
        await _sign_in(page, f"{system.url}/dashboard/", system.owner_token)
        await expect(page.locator("#signin-error")).to_contain_text("admin token")
        assert await page.evaluate("sessionStorage.length") == 0


async def test_dashboard_shows_the_pipeline_and_updates_by_itself(
    system: System, browser: Browser
) -> None:
    async with _page(browser, DESKTOP) as page:
        await _sign_in(page, f"{system.url}/dashboard/", system.admin_token)
        await expect(page.locator("#state")).to_contain_text("live", timeout=LIVE_S * 1000)
        for card in ("deals", "customers", "messages"):
            value = page.locator(f"#card-{card} [data-value]")
            await expect(value).not_to_have_text("—", timeout=LIVE_S * 1000)
            assert int((await value.inner_text()).replace(",", "").replace("\u202f", "")) > 0
        await expect(page.locator("#events li .summary").first).to_be_visible()
        await expect(page.locator("#lag tr")).not_to_have_count(0)
        raw = page.locator("#card-in [data-sub]")
        await expect(raw).to_contain_text("records")
        before = await raw.inner_text()
        dead_count = page.locator("#card-dlq [data-value]")
        dead_before = int(await dead_count.inner_text())
        await page.evaluate("window.sameDocument = true")

        # A broken update (a known type without its chat) goes to the DLQ; a good one is counted.
        chat = system.chats[2 % len(system.chats)]
        broken = system.message_update(chat, system.next_message_id(chat), "broken")
        del broken["business_message"]["chat"]
        await system.post(broken)
        await system.post(system.message_update(chat, system.next_message_id(chat), "counted"))
        await expect(raw).not_to_have_text(before, timeout=LIVE_S * 1000)
        await expect(dead_count).to_have_text(str(dead_before + 1), timeout=LIVE_S * 1000)
        letter = page.locator("#dead-letters li").first
        await expect(letter).to_contain_text("webhook")
        await expect(letter).to_contain_text("aiogram rejected the update")
        await expect(letter.locator("pre")).to_contain_text('"broken"')
        counted = page.locator("#events .summary", has_text="counted")
        await expect(counted.first).to_be_visible(timeout=LIVE_S * 1000)
        assert await page.evaluate("window.sameDocument") is True
        await _shot(page, "dashboard-desktop")
        await page.screenshot(path=str(ARTIFACTS / "dashboard-desktop-full.png"), full_page=True)
        await page.set_viewport_size(PHONE)
        await page.wait_for_timeout(300)
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        await _shot(page, "dashboard-phone")
        await page.screenshot(path=str(ARTIFACTS / "dashboard-phone-full.png"), full_page=True)
    dead = await system.get("/dashboard/api/dead-letters/?limit=5", system.admin_token)
    entry = dead["results"][0]
    assert entry["stage"] == "webhook"
    assert entry["headers"]["dlq.stage"] == "webhook"
    assert json.loads(entry["value_preview"])["update_id"] == broken["update_id"]
