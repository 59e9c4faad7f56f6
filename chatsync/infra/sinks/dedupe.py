"""Batch dedupe, pure: the newest version of each key, and a batch's values grouped by key.

A batch often holds several versions of one row (a deal touched by every message of a
conversation). Writing only the newest saves round trips, and keeps one row per key in a
multi-row upsert, which PostgreSQL requires (``ON CONFLICT DO UPDATE`` cannot touch a row twice).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def newest_per_key(
    values: Iterable[T], key: Callable[[T], K], version: Callable[[T], int]
) -> list[T]:
    """One value per key: the highest version. On a tie the first one seen stays, as in the
    stores, where an equal version never replaces what is stored. Keys keep their first order."""
    newest: dict[K, T] = {}
    for value in values:
        k = key(value)
        current = newest.get(k)
        if current is None or version(value) > version(current):
            newest[k] = value
    return list(newest.values())


def group_by_key(values: Iterable[T], key: Callable[[T], K]) -> dict[K, list[T]]:
    """The values of each key, in their original order."""
    groups: dict[K, list[T]] = {}
    for value in values:
        groups.setdefault(key(value), []).append(value)
    return groups
