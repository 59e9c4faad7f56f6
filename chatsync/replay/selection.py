"""Which archive objects a time range needs, and the plan they make (pure).

A time range selects by offset, like Kafka's offsets-for-times: from the first record whose
timestamp is at or after ``since`` to the record before the first one at or after ``until``.
Records in between count whatever their own timestamp (producers' clocks are not in order), so
the objects needed are a contiguous run: from the first object holding a record at or after
``since`` (its largest timestamp says so) to the first object holding one at or after ``until``.
An object without metadata is read to find out.
"""

from __future__ import annotations

from chatsync.replay.archive_store import ArchivedObject
from chatsync.replay.plan import PartitionPlan, merge_timestamps


def select_objects(
    objects: list[ArchivedObject], since_ms: int | None, until_ms: int | None
) -> list[ArchivedObject]:
    """The contiguous run of ``objects`` (in offset order) that holds the range."""
    first = next(
        (k for k, o in enumerate(objects) if _reaches(o, since_ms) is not False), len(objects)
    )
    chosen = []
    for obj in objects[first:]:
        chosen.append(obj)
        if until_ms is not None and _reaches(obj, until_ms):
            break
    return chosen


def archive_plan(
    topic: str,
    partition: int,
    chosen: list[ArchivedObject],
    since_ms: int | None,
    until_ms: int | None,
) -> PartitionPlan:
    """The partition's plan: exact without a time range, else an upper bound of the count."""
    if not chosen:
        return PartitionPlan(topic, partition, 0, 0, 0)
    count = sum(o.info.records if o.info else o.range.last - o.range.first + 1 for o in chosen)
    first, last = merge_timestamps(
        t for o in chosen if o.info for t in (o.info.min_timestamp, o.info.max_timestamp)
    )
    if since_ms is not None and first is not None:
        first = max(first, since_ms)
    if until_ms is not None and last is not None:
        last = min(last, until_ms - 1)
    exact = since_ms is None and until_ms is None and all(o.info for o in chosen)
    start, end = chosen[0].range.first, chosen[-1].range.last + 1
    return PartitionPlan(topic, partition, start, end, count, exact, first, last)


def _reaches(obj: ArchivedObject, moment_ms: int | None) -> bool | None:
    """Whether the object holds a record at or after ``moment_ms`` (None: unknown)."""
    if moment_ms is None:
        return True
    if obj.info is None:
        return None
    return obj.info.max_timestamp >= moment_ms
