"""`chatsync run` without Telegram credentials: the demo feed goes through the real webhook of a
real API process into Kafka, every update once, each chat in order."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable

import pytest

from chatsync.envelopes import RawEnvelope
from chatsync.infra.stack.stack import Stack
from chatsync.producers.demo.scenario import demo_updates
from tests.conftest import stack_environment
from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_run_posts_the_demo_feed_into_kafka_exactly_once(
    local_stack: Stack, topic_factory: Callable[..., Awaitable[str]]
) -> None:
    raw_topic = await topic_factory(partitions=4)
    env = {
        **os.environ, **stack_environment(), "TOPIC_RAW_BOTAPI": raw_topic,
        "API_PORT": str(_free_port()), "LOG_LEVEL": "INFO",
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
