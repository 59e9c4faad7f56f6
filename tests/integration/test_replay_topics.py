"""``chatsync topics list | describe | tail`` against the real broker."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from chatsync.identity import deal_id
from chatsync.infra.stack.stack import Stack
from chatsync.settings import Settings
from tests.conftest import ROOT
from tests.integration.test_replay_support import (
    command_env,
    produce,
    run_command,
    sample_records,
    start_command,
)

pytestmark = pytest.mark.integration
TopicFactory = Callable[..., Awaitable[str]]
TOPICS = "chatsync.replay.topics_cli.topics"
OWNER = 7001  # the account of sample_records
CHAT = 900_003


async def _commit(servers: str, topic: str, group: str, offset: int) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.commit({TopicPartition(topic, 0): offset})
    finally:
        await consumer.stop()


@pytest.fixture
async def topic(local_stack: Stack, topic_factory: TopicFactory) -> str:
    name = await topic_factory(partitions=1)
    await produce(local_stack.settings.kafka_bootstrap_servers, name, sample_records(60))
    return name


def _run(settings: Settings, *args: str) -> str:
    done = run_command(TOPICS, list(args), command_env(settings))
    assert done.returncode == 0, done.stdout
    return done.stdout


async def test_list_and_describe_show_offsets_and_lag(local_stack: Stack, topic: str) -> None:
    settings = local_stack.settings
    group = f"test-topics-{uuid.uuid4().hex[:8]}"
    await _commit(settings.kafka_bootstrap_servers, topic, group, 45)
    listed = _run(settings, "list")
    [row] = [line for line in listed.splitlines() if topic in line]
    assert row.split()[1:4] == ["1", "60", "60"]
    assert "* chat.messages" in listed  # declared topics are marked
    described = _run(settings, "describe", topic)
    assert "cleanup.policy = delete" in described
    assert f"group {group}: lag 15 (0: 15)" in described


async def test_tail_shows_the_latest_records_and_filters_by_chat_and_deal(
    local_stack: Stack, topic: str
) -> None:
    settings = local_stack.settings
    latest = _run(settings, "tail", topic, "-n", "3", "--compact").splitlines()
    assert [line.split()[0] for line in latest] == [f"{topic}[0]@{o}" for o in (57, 58, 59)]
    by_chat = _run(settings, "tail", topic, "--chat", str(CHAT), "-n", "100", "--compact")
    by_deal = _run(
        settings, "tail", topic, "--deal", deal_id(OWNER, CHAT), "-n", "100", "--compact"
    )
    offsets = [int(line.split()[0].rpartition("@")[2]) for line in by_chat.splitlines()]
    assert offsets == [o for o in range(60) if o % 12 == 3 and o != 13]  # 13 is not JSON
    assert by_deal == by_chat
    pretty = _run(settings, "tail", topic, "-n", "1")
    assert pretty.splitlines()[0].startswith(f"{topic}[0]@59  ")
    assert '  "source": "backfill",' in pretty


async def test_tail_follow_prints_new_records_until_interrupted(
    local_stack: Stack, topic: str
) -> None:
    settings = local_stack.settings
    log_name = f"test-topics-follow-{uuid.uuid4().hex[:8]}"
    process = start_command(
        TOPICS, ["tail", topic, "-n", "0", "--follow", "--compact"], command_env(settings), log_name
    )
    log = ROOT / "var" / f"{log_name}.log"
    try:
        marker = f"follow-{uuid.uuid4().hex}".encode()
        for _ in range(300):  # keep producing until the follower shows one (it may start late)
            await produce(
                settings.kafka_bootstrap_servers, topic, [(b"k", b'"' + marker + b'"', [], 1)]
            )
            if log.exists() and marker in log.read_bytes():
                break
            await asyncio.sleep(0.2)
        assert marker in log.read_bytes()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait(timeout=30)
    assert code == 0, "Ctrl-C ends the follower cleanly"
