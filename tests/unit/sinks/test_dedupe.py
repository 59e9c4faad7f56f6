"""Batch dedupe: the newest version per key; an equal version never replaces the first."""

from __future__ import annotations

from chatsync.infra.sinks.dedupe import group_by_key, newest_per_key


def test_the_newest_version_of_each_key_wins_whatever_the_order() -> None:
    values = [("a", 1, "a1"), ("b", 5, "b5"), ("a", 3, "a3"), ("b", 2, "b2"), ("a", 2, "a2")]
    newest = newest_per_key(values, key=lambda v: v[0], version=lambda v: v[1])
    assert [v[2] for v in newest] == ["a3", "b5"]


def test_on_a_tie_the_first_seen_stays() -> None:
    values = [("a", 2, "first"), ("a", 2, "second")]
    assert newest_per_key(values, key=lambda v: v[0], version=lambda v: v[1]) == [values[0]]


def test_group_by_key_keeps_the_original_order() -> None:
    assert group_by_key([3, 1, 4, 1, 5, 9, 2, 6], key=lambda n: n % 2) == {
        1: [3, 1, 1, 5, 9],
        0: [4, 2, 6],
    }
