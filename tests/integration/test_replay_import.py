"""``chatsync import-export`` publishing a Telegram Desktop export to a real broker."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from chatsync.events import MessageCreated
from chatsync.identity import deal_id
from chatsync.infra.stack.stack import Stack
from chatsync.normalise.pipeline import MemoryNormaliser
from chatsync.settings import Settings
from tests.conftest import ROOT
from tests.integration.test_replay_support import command_env, run_command
from tests.kafka_helpers import end_offsets, read_topic

pytestmark = pytest.mark.integration
TopicFactory = Callable[..., Awaitable[str]]
IMPORT = "chatsync.replay.export.cli.import_export"
FIXTURES = ROOT / "tests" / "fixtures" / "telegram_export"
OWNER = "5550001"


def _env(settings: Settings, topic: str) -> dict[str, str]:
    return command_env(settings, TOPIC_RAW_MTPROTO=topic)


async def test_an_export_is_published_and_normalises_into_one_deal(
    local_stack: Stack, topic_factory: TopicFactory, tmp_path: Path
) -> None:
    settings, topic = local_stack.settings, await topic_factory(partitions=3)
    report = tmp_path / "report.json"
    args = [str(FIXTURES / "personal_chat"), "--owner-user-id", OWNER, "--report", str(report)]
    done = run_command(IMPORT, args, _env(settings, topic))
    assert done.returncode == 0, done.stdout
    assert "published 17 records; 0 skipped" in done.stdout
    assert json.loads(report.read_text())["published"] == 17
    records = await read_topic(settings.kafka_bootstrap_servers, topic, at_least=17)
    assert len({r.partition for r in records}) == 1  # one conversation, one partition
    normaliser = MemoryNormaliser()
    events = []
    for record in sorted(records, key=lambda r: r.offset):
        events += normaliser.process(record.value, topic, record.partition, record.offset)
    [deal] = normaliser.deals.values()
    assert deal.deal_id == deal_id(int(OWNER), 7770002)
    created = [e for e in events if isinstance(e, MessageCreated)]
    assert len(created) == 17
    assert {e.source.kind for e in created} == {"export"}


async def test_a_broken_export_publishes_nothing_without_allow_skips(
    local_stack: Stack, topic_factory: TopicFactory, tmp_path: Path
) -> None:
    settings, topic = local_stack.settings, await topic_factory(partitions=3)
    export = str(FIXTURES / "broken" / "result.json")
    report = tmp_path / "report.json"
    refused = run_command(
        IMPORT, [export, "--owner-user-id", OWNER, "--report", str(report)], _env(settings, topic)
    )
    assert refused.returncode == 1
    assert "nothing was published" in refused.stdout
    assert "skipped message 3: date 'yesterday' is missing or not a date" in refused.stdout
    written = json.loads(report.read_text())
    assert (written["skipped"], written["published"]) == (6, 0)
    assert written["chats"][0]["skipped"][0] == {
        "reason": "id None is not a positive integer",
        "message_id": None,
    }
    assert await end_offsets(settings.kafka_bootstrap_servers, topic) == {0: 0, 1: 0, 2: 0}

    dry = run_command(
        IMPORT,
        [export, "--owner-user-id", OWNER, "--allow-skips", "--dry-run"],
        _env(settings, topic),
    )
    assert dry.returncode == 0, dry.stdout
    assert "would publish 2 records" in dry.stdout
    assert await end_offsets(settings.kafka_bootstrap_servers, topic) == {0: 0, 1: 0, 2: 0}

    allowed = run_command(
        IMPORT, [export, "--owner-user-id", OWNER, "--allow-skips"], _env(settings, topic)
    )
    assert allowed.returncode == 0, allowed.stdout
    assert "published 2 records; 6 skipped" in allowed.stdout
    assert sum((await end_offsets(settings.kafka_bootstrap_servers, topic)).values()) == 2


async def test_a_file_that_is_not_json_is_refused(
    local_stack: Stack, topic_factory: TopicFactory, tmp_path: Path
) -> None:
    settings, topic = local_stack.settings, await topic_factory(partitions=1)
    bad = tmp_path / "result.json"
    bad.write_text('{"name": "cut off', encoding="utf-8")
    refused = run_command(IMPORT, [str(bad), "--owner-user-id", OWNER], _env(settings, topic))
    assert refused.returncode == 1
    assert "not a readable JSON export" in refused.stdout
