"""The archiver against the real broker and S3: complete, tiled, and identical after crashes."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Awaitable, Callable

import pytest

from chatsync.infra.stack.stack import Stack
from chatsync.replay.archive_store import ObjectStore
from chatsync.replay.archiver import ArchiveStats
from chatsync.replay.batching import Rotation
from chatsync.replay.naming import ArchiveLayout, object_lines
from chatsync.replay.records import decode_line
from chatsync.settings import Settings
from tests.integration.test_replay_support import (
    archive_keys,
    archive_objects,
    archive_once,
    command_env,
    produce,
    sample_records,
    start_command,
)
from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.integration
TopicFactory = Callable[..., Awaitable[str]]
ROTATION = Rotation(max_bytes=40_000, max_span_ms=60_000)


class CrashAfterPut(Exception):
    """Stands for the process dying right after an object was written, before its commit."""


class CrashingStore:
    """Writes through to S3, then "crashes" after the n-th object."""

    def __init__(self, inner: ObjectStore, crash_after: int) -> None:
        self._inner, self._left = inner, crash_after
        self.keys, self.get, self.metadata = inner.keys, inner.get, inner.metadata

    async def put(self, key: str, body: bytes, metadata: dict[str, str]) -> None:
        await self._inner.put(key, body, metadata)
        self._left -= 1
        if self._left == 0:
            raise CrashAfterPut(key)


async def _archive_once(
    settings: Settings, topic: str, group: str, prefix: str, crash_after: int = 0
) -> ArchiveStats:
    def wrap(store: ObjectStore) -> ObjectStore:
        return CrashingStore(store, crash_after) if crash_after else store

    return await archive_once(settings, topic, group, prefix, ROTATION, wrap)


@pytest.fixture
async def raw_topic(local_stack: Stack, topic_factory: TopicFactory) -> str:
    topic = await topic_factory(partitions=3)
    await produce(local_stack.settings.kafka_bootstrap_servers, topic, sample_records(900))
    return topic


def _name() -> str:
    return f"test-archive-{uuid.uuid4().hex[:8]}"


async def test_the_archive_holds_every_record_once_in_tiled_objects(
    local_stack: Stack, raw_topic: str
) -> None:
    settings, prefix = local_stack.settings, _name()
    stats = await _archive_once(settings, raw_topic, _name(), prefix)
    objects = await archive_objects(settings, prefix)
    assert stats.objects == len(objects) > 3 * 2, "rotation made several objects per partition"
    by_partition: dict[int, list[int]] = {}
    for name, body in sorted(objects.items()):
        parsed = ArchiveLayout("").parse(name)
        assert parsed is not None
        assert parsed[0] == raw_topic
        records = [decode_line(line) for line in object_lines(body)]
        offsets = [r.offset for r in records]
        assert (offsets[0], offsets[-1]) == (parsed[2].first, parsed[2].last)
        assert len(body) > 0
        assert sum(len(line) + 1 for line in object_lines(body)) <= 40_000
        assert max(r.timestamp for r in records) - min(r.timestamp for r in records) <= 60_000
        by_partition.setdefault(parsed[1], []).extend(offsets)
    consumed = await read_topic(settings.kafka_bootstrap_servers, raw_topic, at_least=900)
    expected: dict[int, list[int]] = {}
    for record in consumed:
        expected.setdefault(record.partition, []).append(record.offset)
    assert by_partition == expected  # every offset, once, in order


async def test_a_crash_between_write_and_commit_rewrites_the_same_objects(
    local_stack: Stack, raw_topic: str
) -> None:
    settings = local_stack.settings
    clean = _name()
    await _archive_once(settings, raw_topic, _name(), clean)
    crashed, group = _name(), _name()
    for crash_after in (4, 3):  # two crashes, each right after a write
        with pytest.raises(CrashAfterPut):
            await _archive_once(settings, raw_topic, group, crashed, crash_after=crash_after)
    resumed = await _archive_once(settings, raw_topic, group, crashed)
    assert resumed.objects > 0
    assert await archive_objects(settings, crashed) == await archive_objects(settings, clean)


async def test_kill_9_mid_way_then_restart_gives_identical_objects(
    local_stack: Stack, topic_factory: TopicFactory
) -> None:
    settings = local_stack.settings
    topic = await topic_factory(partitions=3)
    await produce(settings.kafka_bootstrap_servers, topic, sample_records(6000))
    clean = _name()
    await _archive_once(settings, topic, _name(), clean)
    expected = await archive_objects(settings, clean)

    killed, group = _name(), _name()
    args = ["--topic", topic, "--group", group, "--prefix", killed, "--max-bytes", "40000",
            "--max-span", "60", "--idle-flush", "0"]  # fmt: skip
    env = command_env(settings)
    first = start_command("chatsync.replay.archive_cli.archive", args, env, killed)
    second: subprocess.Popen[bytes] | None = None
    try:
        written: list[str] = []
        for _ in range(600):
            written = await archive_keys(settings, killed)
            if len(written) >= 5 or first.poll() is not None:
                break
            await asyncio.sleep(0.1)
        first.kill()
        first.wait(timeout=30)
        assert 5 <= len(written) < len(expected), "the kill must land mid-way"
        second = start_command(
            "chatsync.replay.archive_cli.archive", [*args, "--once"], env, killed
        )
        assert second.wait(timeout=240) == 0
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)
    assert await archive_objects(settings, killed) == expected


async def test_a_tail_written_just_before_a_crash_keeps_its_boundary_when_more_records_came(
    local_stack: Stack, raw_topic: str
) -> None:
    # The last objects of a run end where the partitions ended (a flush), not where rotation
    # would cut. Crash right after the very last one, before its commit, then let more records
    # arrive: the restarted archiver must rewrite that object as it was, not grow it.
    settings = local_stack.settings
    clean, clean_group = _name(), _name()
    first_run = await _archive_once(settings, raw_topic, clean_group, clean)
    crashed, group = _name(), _name()
    with pytest.raises(CrashAfterPut):
        await _archive_once(settings, raw_topic, group, crashed, crash_after=first_run.objects)
    await produce(settings.kafka_bootstrap_servers, raw_topic, sample_records(90, first=900))
    await _archive_once(settings, raw_topic, clean_group, clean)
    await _archive_once(settings, raw_topic, group, crashed)
    assert await archive_objects(settings, crashed) == await archive_objects(settings, clean)
