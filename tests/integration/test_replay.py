"""``chatsync replay`` against the real broker and S3: same records from the topic and from the
archive, safe refusals, dry runs, and resuming without duplicates."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from chatsync.infra.stack.stack import Stack
from chatsync.replay.batching import Rotation
from chatsync.replay.checkpoint import Checkpoint, CheckpointFile
from chatsync.replay.config import ReplayConfig
from chatsync.replay.errors import ReplayError, UnsafeOperation
from chatsync.replay.plan import PartitionPlan
from chatsync.replay.replay_run import ReplayRequest, replay
from chatsync.settings import Settings
from tests.integration.test_replay_support import (
    BASE_MS,
    archive_once,
    command_env,
    partition_rows,
    produce,
    sample_records,
    start_command,
)
from tests.kafka_helpers import end_offsets, read_topic

pytestmark = pytest.mark.integration
TopicFactory = Callable[..., Awaitable[str]]
COUNT = 900


def _id() -> str:
    return f"test-replay-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def source(local_stack: Stack, topic_factory: TopicFactory) -> str:
    topic = await topic_factory(partitions=3)
    await produce(local_stack.settings.kafka_bootstrap_servers, topic, sample_records(COUNT))
    return topic


@pytest.fixture
async def archived(local_stack: Stack, source: str) -> str:
    prefix = _id()
    await archive_once(local_stack.settings, source, _id(), prefix, Rotation(30_000, 60_000))
    return prefix


async def test_replay_from_the_topic_and_from_the_archive_give_the_same_records(
    local_stack: Stack, topic_factory: TopicFactory, source: str, archived: str
) -> None:
    settings = local_stack.settings
    from_topic, from_archive = await topic_factory(partitions=3), await topic_factory(partitions=3)
    assert await replay(settings, ReplayRequest(source, from_topic), _id(), dry_run=False)
    request = ReplayRequest(source, from_archive, from_archive=True, archive_prefix=archived)
    assert await replay(settings, request, _id(), dry_run=False)
    servers = settings.kafka_bootstrap_servers
    original = await partition_rows(servers, source, COUNT)
    assert sum(len(rows) for rows in original.values()) == COUNT
    assert await partition_rows(servers, from_topic, COUNT) == original
    assert await partition_rows(servers, from_archive, COUNT) == original


async def test_a_time_range_means_the_same_records_in_the_topic_and_the_archive(
    local_stack: Stack, topic_factory: TopicFactory, source: str, archived: str
) -> None:
    settings, servers = local_stack.settings, local_stack.settings.kafka_bootstrap_servers
    since, until = BASE_MS + 200_000, BASE_MS + 400_000  # records 200 .. 399
    from_topic, from_archive = await topic_factory(partitions=3), await topic_factory(partitions=3)
    request = ReplayRequest(source, from_topic, since_ms=since, until_ms=until)
    assert await replay(settings, request, _id(), dry_run=False)
    request = ReplayRequest(
        source,
        from_archive,
        since_ms=since,
        until_ms=until,
        from_archive=True,
        archive_prefix=archived,
    )
    assert await replay(settings, request, _id(), dry_run=False)
    chosen = await partition_rows(servers, from_topic, 200)
    assert sum(len(rows) for rows in chosen.values()) == 200
    assert await partition_rows(servers, from_archive, 200) == chosen


async def test_a_dry_run_shows_the_plan_and_writes_nothing(
    local_stack: Stack,
    topic_factory: TopicFactory,
    source: str,
    archived: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = local_stack.settings
    target, replay_id = await topic_factory(partitions=3), _id()
    for request in (
        ReplayRequest(source, target, from_offset={-1: 100}),
        ReplayRequest(source, target, from_archive=True, archive_prefix=archived),
    ):
        assert await replay(settings, request, replay_id, dry_run=True)
    shown = capsys.readouterr().out
    assert f"{source}:0" in shown
    assert "dry run: nothing was written" in shown
    ends = await end_offsets(settings.kafka_bootstrap_servers, source)
    assert f"{sum(ends.values()) - 300:,}" in shown  # from offset 100 in each of 3 partitions
    assert f"{COUNT:,}" in shown  # the whole archive
    assert await end_offsets(settings.kafka_bootstrap_servers, target) == {0: 0, 1: 0, 2: 0}
    assert CheckpointFile(_replay_dir(settings), replay_id).load() is None


async def test_the_same_replay_id_twice_copies_once(
    local_stack: Stack, topic_factory: TopicFactory, source: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, target, replay_id = local_stack.settings, await topic_factory(partitions=3), _id()
    request = ReplayRequest(source, target)
    assert await replay(settings, request, replay_id, dry_run=False)
    assert await replay(settings, request, replay_id, dry_run=False)
    assert "was already complete" in capsys.readouterr().out
    assert sum((await end_offsets(settings.kafka_bootstrap_servers, target)).values()) == COUNT
    with pytest.raises(ReplayError, match="other options"):
        await replay(settings, ReplayRequest(source, target, from_offset={-1: 5}), replay_id, False)


async def test_refuses_to_write_into_the_topic_it_reads_or_a_normalised_topic(
    local_stack: Stack, source: str
) -> None:
    settings = local_stack.settings
    with pytest.raises(UnsafeOperation, match="--allow-same-topic"):
        await replay(settings, ReplayRequest(source, source), _id(), dry_run=True)
    with pytest.raises(UnsafeOperation, match="not a raw topic"):
        await replay(settings, ReplayRequest(source, settings.topic_messages), _id(), True)


async def test_a_replay_killed_mid_way_resumes_without_duplicates(
    local_stack: Stack, topic_factory: TopicFactory
) -> None:
    settings = local_stack.settings
    servers = settings.kafka_bootstrap_servers
    source, target = await topic_factory(partitions=3), await topic_factory(partitions=3)
    await produce(servers, source, sample_records(6000))
    replay_id = _id()
    checkpoint = CheckpointFile(_replay_dir(settings), replay_id)
    args = ["--topic", source, "--to-topic", target, "--id", replay_id, "--rate", "1500"]
    process = start_command(
        "chatsync.replay.replay_cli.replay_command", args, command_env(settings), replay_id
    )
    copied = 0
    try:
        for _ in range(600):
            saved = checkpoint.load()
            copied = sum(saved.replayed.values()) if saved else 0
            if copied >= 2000 or process.poll() is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert 0 < copied < 6000, "the kill must land mid-way"
    assert await replay(settings, ReplayRequest(source, target), replay_id, dry_run=False)
    assert await partition_rows(servers, target, 6000) == await partition_rows(servers, source)
    saved = checkpoint.load()
    assert saved is not None
    assert saved.status == "done"
    assert sum(saved.replayed.values()) == 6000


async def test_replayed_records_keep_their_headers_and_say_where_they_came_from(
    local_stack: Stack, topic_factory: TopicFactory, source: str
) -> None:
    settings, target, replay_id = local_stack.settings, await topic_factory(partitions=3), _id()
    assert await replay(settings, ReplayRequest(source, target), replay_id, dry_run=False)
    servers = settings.kafka_bootstrap_servers
    originals = {
        (r.partition, r.offset): r for r in await read_topic(servers, source, at_least=COUNT)
    }
    for record in await read_topic(servers, target, at_least=COUNT):
        headers = dict(record.headers)
        assert headers["chatsync.replay.id"] == replay_id.encode()
        topic, partition, offset = headers["chatsync.replay.source"].decode().rsplit(":", 2)
        original = originals[(int(partition), int(offset))]
        assert topic == source
        assert (record.key, record.value) == (original.key, original.value)
        assert list(record.headers)[: len(original.headers)] == list(original.headers)
        if record.value.startswith(b"{"):
            assert json.loads(record.value)["source"] == "backfill"


def _replay_dir(settings: Settings) -> Path:
    return ReplayConfig.from_settings(settings).replay_dir


async def test_records_sent_after_the_last_checkpoint_are_not_sent_again(
    local_stack: Stack, topic_factory: TopicFactory, source: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, target, replay_id = local_stack.settings, await topic_factory(partitions=3), _id()
    request = ReplayRequest(source, target)
    assert await replay(settings, request, replay_id, dry_run=False)
    file = CheckpointFile(_replay_dir(settings), replay_id)
    done = file.load()
    assert done is not None
    # As if killed right after the first checkpoint (before any record) yet after every send:
    plans = [
        PartitionPlan(source, int(key.rsplit(":", 1)[1]), p.start, p.end, p.end - p.start)
        for key, p in done.partitions.items()
    ]
    stale = Checkpoint.new(replay_id, request.params(), target, plans)
    stale.target_marks = {0: 0, 1: 0, 2: 0}
    file.save(stale)
    assert await replay(settings, request, replay_id, dry_run=False)
    assert f"({COUNT:,} of them after the last checkpoint)" in capsys.readouterr().out
    assert sum((await end_offsets(settings.kafka_bootstrap_servers, target)).values()) == COUNT
