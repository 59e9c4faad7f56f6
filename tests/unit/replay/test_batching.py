"""Rotation: boundaries from the records alone, and existing objects win."""

from __future__ import annotations

from chatsync.replay.batching import Batch, PartitionBatcher, Rotation
from chatsync.replay.naming import ObjectRange

LINE = b"x" * 9 + b"\n"  # 10 bytes


def _ranges(batches: list[Batch]) -> list[tuple[int, int]]:
    return [(b.first, b.last) for b in batches]


def _feed(batcher: PartitionBatcher, offsets: range, ts: int = 0, step: int = 0) -> list[Batch]:
    done = []
    for index, offset in enumerate(offsets):
        done += batcher.add(offset, ts + index * step, LINE)
    return done


def test_rotation_by_size_cuts_before_the_record_that_would_overflow() -> None:
    batcher = PartitionBatcher(Rotation(max_bytes=35, max_span_ms=10**9))
    done = _feed(batcher, range(10))
    assert _ranges(done) == [(0, 2), (3, 5), (6, 8)]
    assert all(b.size <= 35 for b in done)
    tail = batcher.flush()
    assert tail is not None
    assert (tail.first, tail.last) == (9, 9)


def test_a_record_larger_than_the_limit_is_an_object_of_its_own() -> None:
    batcher = PartitionBatcher(Rotation(max_bytes=5, max_span_ms=10**9))
    assert _ranges(_feed(batcher, range(3))) == [(0, 0), (1, 1)]


def test_rotation_by_record_time_span() -> None:
    batcher = PartitionBatcher(Rotation(max_bytes=10**9, max_span_ms=25))
    done = _feed(batcher, range(8), ts=1000, step=10)  # 1000, 1010, ... 1070
    assert _ranges(done) == [(0, 2), (3, 5)]
    assert (done[0].min_timestamp, done[0].max_timestamp) == (1000, 1020)


def test_timestamps_out_of_order_count_by_their_spread() -> None:
    batcher = PartitionBatcher(Rotation(max_bytes=10**9, max_span_ms=100))
    done = []
    for offset, ts in enumerate([500, 450, 520, 399, 600]):
        done += batcher.add(offset, ts, LINE)
    assert _ranges(done) == [(0, 2), (3, 3)]  # 399 would stretch 450..520 beyond 100


def test_the_same_records_give_the_same_boundaries_from_any_restart_point() -> None:
    rotation = Rotation(max_bytes=45, max_span_ms=10**9)
    whole = _ranges(_feed(PartitionBatcher(rotation), range(30)))
    resumed = PartitionBatcher(rotation)
    again = _ranges(_feed(resumed, range(whole[2][0], 30)))
    assert again == whole[2:]


def test_an_existing_object_decides_where_its_rewrite_ends() -> None:
    # A flush (end of partition) wrote 0..3; after a crash before the commit, the same records
    # come again together with newer ones: the rewrite must be 0..3 again, not 0..4.
    batcher = PartitionBatcher(Rotation(max_bytes=45, max_span_ms=10**9), [ObjectRange(0, 3)])
    assert _ranges(_feed(batcher, range(12))) == [(0, 3), (4, 7)]


def test_no_batch_grows_into_the_next_existing_object() -> None:
    rotation = Rotation(max_bytes=1000, max_span_ms=10**9)
    batcher = PartitionBatcher(rotation, [ObjectRange(5, 6)])
    assert _ranges(_feed(batcher, range(8))) == [(0, 4), (5, 6)]


def test_an_open_rewrite_is_not_flushed_early() -> None:
    batcher = PartitionBatcher(Rotation(), [ObjectRange(0, 3)])
    _feed(batcher, range(2))
    assert batcher.flush() is None
    assert _ranges(_feed(batcher, range(2, 4))) == [(0, 3)]


def test_a_gap_in_the_log_still_closes_a_rewrite() -> None:
    batcher = PartitionBatcher(Rotation(), [ObjectRange(0, 3)])
    done = _feed(batcher, range(2)) + batcher.add(7, 0, LINE)
    assert _ranges(done) == [(0, 1)]
