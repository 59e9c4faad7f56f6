"""The WebSocket stream against real `chatsync api` processes and the real broker: auth and close
codes, owner isolation, gapless resume during a burst (also across two API processes), an expired
cursor, and a slow client."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from chatsync.infra.db import create_engine
from chatsync.infra.postgres.tokens import create_token
from chatsync.infra.stack.stack import Stack
from chatsync.normalise.pipeline import MemoryNormaliser
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo.scenario import stream_updates
from tests.conftest import free_port, stack_environment

pytestmark = pytest.mark.integration
DISCONNECTED_S = 10  # how long the client of the resume test is away, mid-burst (issue #8)


@dataclass
class Realtime:
    servers: str
    deals_topic: str
    messages_topic: str
    urls: list[str]
    tokens: dict[int, str]

    async def publish(self, events: list[dict[str, Any]]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.servers, acks="all", linger_ms=5)
        await producer.start()
        try:
            for event in events:
                topic = (
                    self.deals_topic
                    if event["event_type"].startswith("deal.")
                    else (self.messages_topic)
                )
                await producer.send(
                    topic, json.dumps(event).encode(), key=event["deal_id"].encode()
                )
            await producer.flush()
        finally:
            await producer.stop()

    def ws(
        self, owner: int, *, server: int = 0, cursor: str | None = None, token: str | None = None
    ) -> Any:
        url = f"{self.urls[server]}/ws/chats/{owner}/"
        params = {"cursor": cursor} if cursor else {}
        headers = {"Authorization": f"Bearer {token or self.tokens[owner]}"}
        query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
        return connect(url.replace("http", "ws") + query, additional_headers=headers, max_queue=4)


def _events(count: int, owners: int = 2) -> tuple[list[int], list[dict[str, Any]]]:
    """Deal and message events of a few owners, through the real pure pipeline."""
    normaliser, events = MemoryNormaliser(), []
    for offset, update in enumerate(
        stream_updates(count, seed=5, owners=owners, customers_per_owner=5)
    ):
        value = botapi_envelope(update, describe_update(update), 1).to_bytes()
        for event in normaliser.process(value, "raw", 0, offset):
            if event.event_type.startswith(("deal.", "message.")):
                events.append(json.loads(event.model_dump_json()))
    return sorted({e["owner_user_id"] for e in events}), events


def _start_api(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "chatsync", "api"], env={**env, "API_PORT": str(port)}
    )
    return process, f"http://127.0.0.1:{port}"


async def _wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(240):
            try:
                if (await client.get(f"{url}/healthz", timeout=1)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.25)
    raise TimeoutError(url)


@pytest.fixture
async def realtime(
    local_stack: Stack, topic_factory: Callable[..., Awaitable[str]]
) -> AsyncIterator[Realtime]:
    settings = local_stack.settings
    deals, messages = await topic_factory(partitions=4), await topic_factory(partitions=4)
    owners, _ = _events(50)
    engine = create_engine(settings, pool_size=1)
    tokens = {
        owner: (await create_token(engine, user_id=owner, admin=False, name="ws"))[1]
        for owner in owners
    }
    await engine.dispose()
    env = {
        **os.environ,
        **stack_environment(),
        "TOPIC_DEALS": deals,
        "TOPIC_MESSAGES": messages,
        "LOG_LEVEL": "WARNING",
    }
    processes = [_start_api(env) for _ in range(2)]
    try:
        for _, url in processes:
            await _wait_ready(url)
        yield Realtime(
            settings.kafka_bootstrap_servers, deals, messages, [url for _, url in processes], tokens
        )
    finally:
        for process, _ in processes:
            process.terminate()
            process.wait(timeout=30)


async def _frames(ws: ClientConnection, count: int, wait_s: float = 30) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    while len(frames) < count:
        frame = json.loads(await asyncio.wait_for(ws.recv(), wait_s))
        if frame["type"] != "heartbeat":
            frames.append(frame)
    return frames


async def test_bad_tokens_and_other_owners_are_closed_before_any_data(realtime: Realtime) -> None:
    owner, other = sorted(realtime.tokens)[:2]
    for token, expected in (("cs_bogus", 4401), (realtime.tokens[other], 4403)):
        async with realtime.ws(owner, token=token) as ws:
            error = json.loads(await ws.recv())
            assert error["type"] == "error"
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == expected
    url = realtime.urls[0].replace("http", "ws")
    async with connect(f"{url}/ws/chats/{owner}/?token={realtime.tokens[owner]}") as ws:
        await realtime.publish(_events(20)[1][:1])
        await ws.ping()


async def test_each_owner_gets_exactly_its_events_in_order(realtime: Realtime) -> None:
    owners, events = _events(60)
    first = owners[0]
    mine = [e["event_id"] for e in events if e["owner_user_id"] == first]
    async with realtime.ws(first) as ws:
        await asyncio.sleep(0.5)
        await realtime.publish(events)
        frames = await _frames(ws, len(mine))
    assert sorted(f["event_id"] for f in frames) == sorted(mine), "all of its events, no other"
    published = _per_deal(
        [
            {"type": e["event_type"], "deal_id": e["deal_id"], "event_id": e["event_id"]}
            for e in events
            if e["owner_user_id"] == first
        ]
    )
    assert _per_deal(frames) == published, "in order within every deal"
    assert all(f["data"] and f["cursor"] for f in frames)


@pytest.mark.parametrize("resume_on", [0, 1], ids=["same-process", "other-process"])
async def test_resume_during_a_burst_misses_nothing_and_repeats_nothing(
    realtime: Realtime, resume_on: int
) -> None:
    owners, events = _events(400)
    owner = owners[0]
    expected = [e["event_id"] for e in events if e["owner_user_id"] == owner]
    async with realtime.ws(owner) as steady:
        flaky = await realtime.ws(owner)
        await asyncio.sleep(0.5)
        burst = asyncio.create_task(realtime.publish(events))
        seen = await _frames(flaky, len(expected) // 4)
        await flaky.close()  # gone mid-burst; back 10 s later with its last cursor
        await asyncio.sleep(DISCONNECTED_S)
        async with realtime.ws(owner, server=resume_on, cursor=seen[-1]["cursor"]) as resumed:
            seen += await _frames(resumed, len(expected) - len(seen))
        await burst
        reference = await _frames(steady, len(expected))
    assert sorted(f["event_id"] for f in seen) == sorted(expected), "each event exactly once"
    assert sorted(f["event_id"] for f in reference) == sorted(expected)
    assert _per_deal(seen) == _per_deal(reference), "the same order within every deal"


def _per_deal(frames: list[dict[str, Any]]) -> dict[tuple[str, str], list[str]]:
    ordered: dict[tuple[str, str], list[str]] = {}
    for frame in frames:
        stream = "deal" if frame["type"].startswith("deal.") else "message"
        ordered.setdefault((frame["deal_id"], stream), []).append(frame["event_id"])
    return ordered


async def test_a_cursor_older_than_retention_is_refused(realtime: Realtime) -> None:
    owners, events = _events(40)
    owner = owners[0]
    async with realtime.ws(owner) as ws:
        await asyncio.sleep(0.5)
        await realtime.publish(events)
        first = (await _frames(ws, 1))[0]
    admin = AIOKafkaAdminClient(bootstrap_servers=realtime.servers)
    await admin.start()
    try:
        ends = {TopicPartition(realtime.messages_topic, p): RecordsToDelete(-1) for p in range(4)}
        ends |= {TopicPartition(realtime.deals_topic, p): RecordsToDelete(-1) for p in range(4)}
        await admin.delete_records(ends, timeout_ms=10_000)
    finally:
        await admin.close()
    async with realtime.ws(owner, cursor=first["cursor"]) as ws:
        error = json.loads(await ws.recv())
        assert error["code"] == "cursor_expired"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4410


async def test_a_client_that_does_not_read_is_closed_not_buffered_forever(
    realtime: Realtime,
) -> None:
    owners, events = _events(3000)
    async with realtime.ws(owners[0]) as ws:
        await asyncio.sleep(0.5)
        await realtime.publish(events)  # the client reads nothing meanwhile
        await asyncio.sleep(3)
        with pytest.raises(ConnectionClosed) as closed:
            await _drain(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4408


async def _drain(ws: ClientConnection) -> None:
    while True:
        await asyncio.wait_for(ws.recv(), 30)
