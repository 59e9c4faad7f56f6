"""`chatsync run` without Telegram credentials: the demo feed goes through the real webhook of a
real API process into Kafka, every update once, each chat in order, and the worker it starts
normalises it into one message.created per message."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable

import pytest

from chatsync.envelopes import RawEnvelope
from chatsync.infra.stack.stack import Stack
from chatsync.producers.demo.scenario import demo_updates
from tests.conftest import free_port, stack_environment
from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.e2e


async def test_run_posts_the_demo_feed_into_kafka_exactly_once(
    local_stack: Stack, topic_factory: Callable[..., Awaitable[str]]
) -> None:
    raw_topic = await topic_factory(partitions=4)
    topics = {
        name: await topic_factory(partitions=4)
        for name in (
            "TOPIC_RAW_MTPROTO",
            "TOPIC_DEALS",
            "TOPIC_MESSAGES",
            "TOPIC_CUSTOMERS",
            "TOPIC_DLQ",
        )
    }
    env = {
        **os.environ, **stack_environment(), **topics, "TOPIC_RAW_BOTAPI": raw_topic,
        "API_PORT": str(free_port()), "LOG_LEVEL": "INFO", "KAFKA_TOPIC_PARTITIONS": "4",
        "WORKER_APP_ID": f"e2e-{raw_topic}",
    }  # fmt: skip
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.pop("TELEGRAM_WEBHOOK_SECRET", None)
    expected = demo_updates()
    command = [sys.executable, "-m", "chatsync", "run", "--demo-rate", "0"]
    run = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        servers = local_stack.settings.kafka_bootstrap_servers
        records = []
        for _ in range(120):
            records = await read_topic(servers, raw_topic, at_least=len(expected), timeout_ms=500)
            if len(records) >= len(expected):
                break
            assert run.poll() is None, "chatsync run exited early"
        messages = [u for u in expected if "business_message" in u]
        created: list[dict[str, object]] = []
        for _ in range(120):
            events = await read_topic(servers, topics["TOPIC_MESSAGES"], timeout_ms=500)
            created = [
                e
                for e in map(json.loads, (r.value for r in events))
                if e["event_type"] == "message.created"
            ]
            if len(created) >= len(messages):
                break
            await asyncio.sleep(0.5)
    finally:
        run.send_signal(signal.SIGINT)
        output = (await asyncio.to_thread(run.communicate, timeout=30))[0].decode()
    assert run.returncode == 0, output
    assert f"demo feed posted: {len(expected)} updates" in output
    envelopes = [RawEnvelope.from_bytes(r.value) for r in records]
    assert sorted(e.update_id or 0 for e in envelopes) == [u["update_id"] for u in expected]
    by_key: dict[bytes, list[int]] = {}
    for record, envelope in zip(records, envelopes, strict=True):
        by_key.setdefault(record.key, []).append(envelope.update_id or 0)
    assert all(ids == sorted(ids) for ids in by_key.values()), "one conversation, in order"
    assert "Traceback" not in output
    assert len(created) == len(messages), "one message.created per business message"
