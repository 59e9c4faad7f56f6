"""POST /telegram/webhook/ against the real broker: durable before 200, exact payloads, statuses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from chatsync.api.app import create_app
from chatsync.envelopes import RawEnvelope
from chatsync.infra.stack.stack import Stack
from chatsync.producers.demo import shapes
from chatsync.settings import Settings
from tests.kafka_helpers import end_offsets, read_topic

pytestmark = pytest.mark.integration
SECRET = "webhook-secret-for-tests"
BOT_ID = 7000000001
TOKEN = f"{BOT_ID}:AAE-test-token-not-real-0123456789abcdef"


@dataclass
class Webhook:
    client: httpx.AsyncClient
    settings: Settings

    async def post(
        self, body: dict[str, Any] | bytes, secret: str | None = SECRET
    ) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        headers = {"content-type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        return await self.client.post("/telegram/webhook/", content=content, headers=headers)

    async def raw_records(self, at_least: int = 0) -> list[Any]:
        servers = self.settings.kafka_bootstrap_servers
        return await read_topic(servers, self.settings.topic_raw_botapi, at_least=at_least)

    async def record_counts(self) -> tuple[int, int]:
        servers = self.settings.kafka_bootstrap_servers
        raw = await end_offsets(servers, self.settings.topic_raw_botapi)
        dlq = await end_offsets(servers, self.settings.topic_dlq)
        return sum(raw.values()), sum(dlq.values())


async def _start(settings: Settings) -> AsyncIterator[Webhook]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Webhook(client, settings)


@pytest.fixture
async def webhook(
    local_stack: Stack, topic_factory: Callable[..., Awaitable[str]]
) -> AsyncIterator[Webhook]:
    settings = local_stack.settings.model_copy(
        update={
            "topic_raw_botapi": await topic_factory(partitions=3),
            "topic_dlq": await topic_factory(),
            "telegram_webhook_secret": SecretStr(SECRET),
            "telegram_bot_token": SecretStr(TOKEN),
            "kafka_publish_timeout_ms": 2000,
        }
    )
    async for harness in _start(settings):
        yield harness


@pytest.mark.parametrize("name", sorted(shapes.SAMPLES))
async def test_every_update_shape_lands_once_with_its_exact_bytes(
    webhook: Webhook, name: str
) -> None:
    update = shapes.SAMPLES[name]()
    body = json.dumps(update, ensure_ascii=False, indent=1).encode()  # odd spacing on purpose
    response = await webhook.post(body)
    assert response.status_code == 200, response.text
    [record] = await webhook.raw_records(at_least=1)
    assert body in record.value, "the original bytes are spliced into the envelope verbatim"
    envelope = RawEnvelope.from_bytes(record.value)
    assert envelope.payload == update
    assert envelope.source == "botapi"
    assert envelope.update_id == update["update_id"]
    assert envelope.update_type == next(k for k in update if k != "update_id")
    assert envelope.bot_id == BOT_ID
    assert record.key == envelope.partition_key()
    body_of_update = update[envelope.update_type]
    if "chat" in body_of_update:
        assert envelope.chat_id == body_of_update["chat"]["id"]
    if envelope.update_type.startswith(("business_message", "edited_business", "deleted_bus")):
        assert envelope.business_connection_id == body_of_update["business_connection_id"]


async def test_one_chat_stays_in_order_in_one_partition(webhook: Webhook) -> None:
    chats = [111, 222, 333]
    sent = []
    for i in range(30):
        update = shapes.text()
        update["update_id"] = 500 + i
        message = update["business_message"]
        message["chat"]["id"] = chats[i % 3]
        message["message_id"] = 10 + i
        sent.append(update)
        assert (await webhook.post(update)).status_code == 200
    records = await webhook.raw_records(at_least=30)
    assert len(records) == 30
    for chat in chats:
        in_kafka = [RawEnvelope.from_bytes(r.value) for r in records]
        ids = [e.update_id for e in in_kafka if e.chat_id == chat]
        assert ids == [u["update_id"] for u in sent if u["business_message"]["chat"]["id"] == chat]
        assert (
            len({r.partition for r in records if RawEnvelope.from_bytes(r.value).chat_id == chat})
            == 1
        )


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x", SECRET[:-1]])
async def test_missing_or_wrong_secret_is_401_and_nothing_reaches_kafka(
    webhook: Webhook, secret: str | None
) -> None:
    response = await webhook.post(shapes.text(), secret=secret)
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "unauthorized", "message": "missing or wrong secret token"}
    }
    assert SECRET not in response.text
    assert await webhook.record_counts() == (0, 0)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b"", "invalid_json"),
        (b"[1, 2]", "invalid_update"),
        (b'{"message": {}}', "invalid_update"),
        (b'{"update_id": "12"}', "invalid_update"),
        (b'{"update_id": 1.5}', "invalid_update"),
        (b'{"update_id": true}', "invalid_update"),
    ],
)
async def test_malformed_bodies_are_400_and_nothing_reaches_kafka(
    webhook: Webhook, body: bytes, code: str
) -> None:
    response = await webhook.post(body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert await webhook.record_counts() == (0, 0)


async def test_oversized_body_is_413_and_nothing_reaches_kafka(webhook: Webhook) -> None:
    update = shapes.text()
    update["business_message"]["text"] = "x" * webhook.settings.webhook_max_body_bytes
    response = await webhook.post(update)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert await webhook.record_counts() == (0, 0)


async def test_unknown_update_type_and_fields_are_kept(webhook: Webhook) -> None:
    update = {"update_id": 9001, "business_story": {"id": 5, "chat": {"id": 42, "type": "private"},
                                                    "new_field": [1, 2]}}  # fmt: skip
    assert (await webhook.post(update)).status_code == 200
    [record] = await webhook.raw_records(at_least=1)
    envelope = RawEnvelope.from_bytes(record.value)
    assert envelope.update_type == "business_story"
    assert envelope.payload == update
    assert envelope.chat_id == 42


async def test_update_aiogram_rejects_goes_to_the_dlq_with_its_bytes(webhook: Webhook) -> None:
    update = shapes.text()
    del update["business_message"]["chat"]  # a known type with a broken shape
    body = json.dumps(update).encode()
    response = await webhook.post(body)
    assert response.status_code == 200, "accepted: kept in the DLQ, Telegram must not retry"
    assert await webhook.record_counts() == (0, 1)
    servers = webhook.settings.kafka_bootstrap_servers
    [dead] = await read_topic(servers, webhook.settings.topic_dlq, at_least=1)
    assert dead.value == body
    headers = {k: v.decode() for k, v in dead.headers}
    assert headers["dlq.stage"] == "webhook"
    assert "chat" in headers["dlq.error"]


async def test_redelivered_update_is_in_kafka_once(webhook: Webhook) -> None:
    update = shapes.text()
    for _ in range(3):
        assert (await webhook.post(update)).status_code == 200
    assert await webhook.record_counts() == (1, 0)


async def test_broker_down_answers_503_then_every_update_lands_exactly_once(
    webhook: Webhook, local_stack: Stack
) -> None:
    before = shapes.text()
    assert (await webhook.post(before)).status_code == 200
    kafka = local_stack.component("kafka")
    await asyncio.to_thread(kafka.stop)
    during = []
    try:
        for i in range(3):
            update = shapes.text()
            update["update_id"] = before["update_id"] + 1 + i
            update["business_message"]["message_id"] += 1 + i
            during.append(update)
            response = await webhook.post(update)
            assert response.status_code == 503
            assert response.headers["retry-after"] == "1"
    finally:
        await local_stack.ensure_up(kafka)
    # Telegram retries each unacknowledged update until it gets a 200.
    for update in during:
        for _ in range(60):
            response = await webhook.post(update)
            if response.status_code == 200:
                break
            await asyncio.sleep(0.5)
        assert response.status_code == 200
    records = await webhook.raw_records(at_least=4)
    update_ids = sorted(RawEnvelope.from_bytes(r.value).update_id or 0 for r in records)
    assert update_ids == sorted(u["update_id"] for u in [before, *during])


async def test_without_a_configured_secret_the_route_is_disabled(local_stack: Stack) -> None:
    settings = local_stack.settings.model_copy(update={"telegram_webhook_secret": None})
    async for harness in _start(settings):
        response = await harness.post(shapes.text(), secret="anything")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "webhook_disabled"
