"""Which archive objects a time range reads, and the plan it shows."""

from __future__ import annotations

from chatsync.replay.archive_store import ArchivedObject
from chatsync.replay.naming import ObjectInfo, ObjectRange
from chatsync.replay.selection import archive_plan, select_objects


def _obj(first: int, last: int, low: int | None, high: int | None) -> ArchivedObject:
    info = ObjectInfo(last - first + 1, low, high) if low is not None and high is not None else None
    return ArchivedObject(f"k{first}", "t", 0, ObjectRange(first, last), info)


OBJECTS = [_obj(0, 9, 100, 190), _obj(10, 19, 200, 290), _obj(20, 29, 300, 390)]


def _firsts(chosen: list[ArchivedObject]) -> list[int]:
    return [o.range.first for o in chosen]


def test_without_a_range_everything_is_read() -> None:
    assert _firsts(select_objects(OBJECTS, None, None)) == [0, 10, 20]


def test_from_the_object_holding_since_to_the_object_holding_until() -> None:
    assert _firsts(select_objects(OBJECTS, 195, 250)) == [10]
    assert _firsts(select_objects(OBJECTS, 150, 300)) == [0, 10, 20]
    assert _firsts(select_objects(OBJECTS, 400, None)) == []


def test_an_object_of_early_timestamps_inside_the_range_is_kept() -> None:
    # Offsets 10..10: one record whose producer clock was far behind. By offset it lies inside
    # the range, so it is replayed, exactly as a replay from the topic would.
    objects = [_obj(0, 9, 100, 190), _obj(10, 10, 5, 5), _obj(11, 20, 200, 290)]
    assert _firsts(select_objects(objects, 150, 250)) == [0, 10, 11]


def test_objects_without_metadata_are_read_to_find_out() -> None:
    objects = [_obj(0, 9, None, None), _obj(10, 19, 200, 290)]
    assert _firsts(select_objects(objects, 250, 260)) == [0, 10]


def test_the_plan_counts_exactly_without_a_range_and_at_most_with_one() -> None:
    whole = archive_plan("t", 0, OBJECTS, None, None)
    assert (whole.start, whole.end, whole.records, whole.exact) == (0, 30, 30, True)
    assert (whole.first_timestamp, whole.last_timestamp) == (100, 390)
    part = archive_plan("t", 0, OBJECTS[1:2], 210, 250)
    assert (part.start, part.end, part.records, part.exact) == (10, 20, 10, False)
    assert (part.first_timestamp, part.last_timestamp) == (210, 249)
    assert archive_plan("t", 3, [], None, None).records == 0
