"""`chatsync sinks` as a process: it writes both stores, and SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest

from chatsync.events import DealCreated, DealUpdated
from chatsync.infra.sinks.message_fold import MessageEvent
from chatsync.infra.stack.stack import Stack
from tests.conftest import ROOT, stack_environment
from tests.integration.test_sinks_harness import SinkRun, TopicFactory, demo_events, open_sink_run

pytestmark = pytest.mark.integration
Process = subprocess.Popen[bytes]


@pytest.fixture
async def run(local_stack: Stack, topic_factory: TopicFactory) -> AsyncIterator[SinkRun]:
    async with open_sink_run(local_stack.settings, topic_factory) as sink_run:
        yield sink_run


def _start(run: SinkRun, *args: str) -> Process:
    s = run.settings
    env = {**os.environ, **stack_environment(), "LOG_LEVEL": "WARNING",
           "TOPIC_DEALS": s.topic_deals, "TOPIC_CUSTOMERS": s.topic_customers,
           "TOPIC_MESSAGES": s.topic_messages, "TOPIC_DLQ": s.topic_dlq,
           "DYNAMODB_MESSAGES_TABLE": s.dynamodb_messages_table}  # fmt: skip
    log = (ROOT / "var" / "test-sinks-command.log").open("ab")
    with log:
        return subprocess.Popen([sys.executable, "-m", "chatsync", "sinks", *args], env=env,
                                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip


async def _drained(run: SinkRun, process: Process, groups: dict[str, tuple[str, ...]]) -> None:
    deadline = time.monotonic() + 180
    for group, topics in groups.items():
        while await run.uncommitted(group, topics) != 0:
            assert process.poll() is None, "chatsync sinks exited: see var/test-sinks-command.log"
            assert time.monotonic() < deadline, "chatsync sinks did not drain its topics"
            await asyncio.sleep(0.3)


async def test_the_command_writes_both_stores_and_stops_on_sigterm(run: SinkRun) -> None:
    events = demo_events()
    await run.produce(events)
    process = _start(run)
    try:
        s = run.settings
        await _drained(run, process, {
            "chatsync-sink-postgres": (s.topic_deals, s.topic_customers),
            "chatsync-sink-dynamodb": (s.topic_messages,),
        })  # fmt: skip
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 60)
    assert code == 0
    deals = {e.deal_id for e in events if isinstance(e, DealCreated | DealUpdated)}
    rows = await run.rows("SELECT id FROM deals WHERE id = ANY(:i)", i=list(deals))
    assert {row["id"] for row in rows} == deals
    messages = {(e.deal_id, e.data.message_id) for e in events if isinstance(e, MessageEvent)}
    assert len(await run.items()) == len(messages)


async def test_only_runs_the_named_sink(run: SinkRun) -> None:
    events = demo_events()
    await run.produce(events)
    process = _start(run, "--only", "dynamodb")
    try:
        await _drained(run, process, {"chatsync-sink-dynamodb": (run.settings.topic_messages,)})
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 60)
    assert code == 0
    assert await run.items()
    deals = {e.deal_id for e in events if isinstance(e, DealCreated | DealUpdated)}
    assert await run.rows("SELECT id FROM deals WHERE id = ANY(:i)", i=list(deals)) == []
    committed = await run.committed("chatsync-sink-postgres") or {}
    assert not {topic for topic, _ in committed} & {run.settings.topic_deals}
