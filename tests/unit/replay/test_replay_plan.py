"""Replay plans, checkpoints, provenance headers and option parsing (pure parts)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from chatsync.replay.checkpoint import Checkpoint, CheckpointFile
from chatsync.replay.errors import ReplayError
from chatsync.replay.plan import PartitionPlan, ReplayPlan, plan_lines, summary_lines
from chatsync.replay.records import KafkaRecord
from chatsync.replay.replay_cli import UtcTime, parse_offsets
from chatsync.replay.replay_run import ReplayRequest
from chatsync.replay.replayer import REPLAY_ID, REPLAY_SOURCE, replay_headers, replayed_from

PLANS = [
    PartitionPlan("tg.raw.botapi", 0, 5, 105, 100, True, 1_767_621_791_000, 1_767_625_391_000),
    PartitionPlan("tg.raw.botapi", 1, 0, 0, 0),
]


def test_the_plan_table_shows_offsets_counts_and_times() -> None:
    lines = plan_lines(ReplayPlan("topic tg.raw.botapi", "tg.raw.copy", tuple(PLANS)))
    assert lines[0] == "source: topic tg.raw.botapi"
    assert lines[3].split() == [
        "tg.raw.botapi:0",
        "5..104",
        "100",
        "2026-01-05",
        "14:03:11",
        "..",
        "2026-01-05",
        "15:03:11",
    ]
    assert lines[4].split() == ["tg.raw.botapi:1", "-", "0"]
    assert lines[5].split() == ["total", "100"]
    upper = ReplayPlan("a", "b", (PartitionPlan("t", 0, 0, 10, 10, exact=False),))
    assert plan_lines(upper)[-1].split() == ["total", "<=", "10"]


def test_the_summary_says_whether_to_resume() -> None:
    assert "complete" in summary_lines("r1", {"t:0": 10}, 2.0, True)[0]
    lines = summary_lines("r1", {"t:0": 10, "t:1": 5}, 0.5, False)
    assert "run the same command again to resume" in lines[0]
    assert lines[-1].split()[:2] == ["total", "15"]


def test_a_checkpoint_round_trips_and_counts_what_remains(tmp_path: Path) -> None:
    file = CheckpointFile(tmp_path / "replay", "r-1")
    assert file.load() is None
    checkpoint = Checkpoint.new("r-1", {"topic": '"t"'}, "target", PLANS)
    checkpoint.partitions["tg.raw.botapi:0"].next = 55
    checkpoint.partitions["tg.raw.botapi:0"].replayed = 50
    file.save(checkpoint)
    loaded = file.load()
    assert loaded is not None
    assert loaded.remaining == 50
    assert loaded.replayed == {"tg.raw.botapi:0": 50, "tg.raw.botapi:1": 0}
    assert not (tmp_path / "replay" / "r-1.json.tmp").exists()


def test_a_damaged_checkpoint_or_a_bad_id_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ReplayError, match="not a replay checkpoint"):
        CheckpointFile(tmp_path, "bad").load()
    with pytest.raises(ReplayError, match="replay id"):
        CheckpointFile(tmp_path, "../escape")


def test_replay_headers_keep_the_own_ones_and_replace_an_earlier_replays() -> None:
    record = KafkaRecord(
        "src",
        2,
        41,
        0,
        b"k",
        b"v",
        (("trace", b"t1"), (REPLAY_ID, b"old"), (REPLAY_SOURCE, b"x:0:1")),
    )
    headers = replay_headers(record, "r-2")
    assert headers == (("trace", b"t1"), (REPLAY_ID, b"r-2"), (REPLAY_SOURCE, b"src:2:41"))
    assert replayed_from(list(headers), "r-2") == ("src:2", 41)
    assert replayed_from(list(headers), "r-3") is None
    assert replayed_from([("trace", b"t1")], "r-2") is None


def test_the_default_id_depends_on_what_defines_the_replay() -> None:
    base = ReplayRequest("src", "dst", since_ms=10)
    assert base.default_id() == ReplayRequest("src", "dst", since_ms=10, rate=50).default_id()
    assert base.default_id() != ReplayRequest("src", "dst", since_ms=11).default_id()
    assert base.default_id().startswith("replay-")


def test_offsets_for_every_partition_or_per_partition() -> None:
    assert parse_offsets("100") == {-1: 100}
    assert parse_offsets("0:10,2:30") == {0: 10, 2: 30}
    with pytest.raises(click.BadParameter):
        parse_offsets("0:x")


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("2026-01-05", 1_767_571_200_000),
        ("2026-01-05T14:03:11", 1_767_621_791_000),
        ("2026-01-05T14:03:11Z", 1_767_621_791_000),
        ("2026-01-05T16:03:11+02:00", 1_767_621_791_000),
    ],
)
def test_times_are_iso_8601_and_naive_means_utc(text: str, millis: int) -> None:
    assert UtcTime().convert(text, None, None) == millis


def test_a_bad_time_is_a_usage_error() -> None:
    with pytest.raises(click.BadParameter):
        UtcTime().convert("yesterday", None, None)
