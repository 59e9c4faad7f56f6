"""When an archive object ends: rotation by size and by record time span (pure).

One ``PartitionBatcher`` per topic partition collects encoded records in offset order and hands
back the batches that are complete. Every decision depends on the records alone, never on the
wall clock, so the same records cut into the same objects however often the archiver restarts:

* a batch ends before a record that would take it over ``max_bytes`` (uncompressed JSON lines;
  a single larger record makes an object of its own);
* a batch ends before a record that would stretch the span between its smallest and largest
  record timestamp beyond ``max_span_ms``;
* objects already in the archive win: a batch that starts inside an existing object's range ends
  exactly where that object ends, and no batch grows into the next existing object. After a crash
  between writing an object and committing its offsets, the restarted archiver therefore writes
  the same object again (same name, same bytes) rather than a second, overlapping one. This also
  holds for objects cut by ``flush`` (end of the partition reached, ``--once`` or idle).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from chatsync.replay.naming import ObjectInfo, ObjectRange


@dataclass(frozen=True, slots=True)
class Rotation:
    max_bytes: int = 64 * 1024 * 1024
    max_span_ms: int = 3600 * 1000


@dataclass(slots=True)
class Batch:
    """Consecutive records of one partition: the content of one object."""

    first: int
    last: int
    min_timestamp: int
    max_timestamp: int
    lines: list[bytes] = field(default_factory=list)
    size: int = 0

    @property
    def range(self) -> ObjectRange:
        return ObjectRange(self.first, self.last)

    @property
    def info(self) -> ObjectInfo:
        return ObjectInfo(len(self.lines), self.min_timestamp, self.max_timestamp)

    def add(self, offset: int, timestamp: int, line: bytes) -> None:
        self.last = offset
        self.min_timestamp = min(self.min_timestamp, timestamp)
        self.max_timestamp = max(self.max_timestamp, timestamp)
        self.lines.append(line)
        self.size += len(line)


class PartitionBatcher:
    """Cuts one partition's records into batches; ``existing``: objects already archived."""

    def __init__(self, rotation: Rotation, existing: Iterable[ObjectRange] = ()) -> None:
        self._rotation = rotation
        self._existing = sorted(existing)
        self._open: Batch | None = None
        self._fixed: ObjectRange | None = None  # the existing object the open batch rewrites

    @property
    def open_batch(self) -> Batch | None:
        return self._open

    def add(self, offset: int, timestamp: int, line: bytes) -> list[Batch]:
        """Add the next record; return the batches it completed (zero, one or two)."""
        done: list[Batch] = []
        if self._open is not None and self._ends_before(offset, timestamp, len(line)):
            done.append(self._close())
        if self._open is None:
            self._open = Batch(offset, offset, timestamp, timestamp)
            self._fixed = self._existing_at(offset)
        self._open.add(offset, timestamp, line)
        if self._fixed is not None and offset >= self._fixed.last:
            done.append(self._close())
        return done

    def flush(self) -> Batch | None:
        """Close the open batch (the end of the partition was reached). A batch that rewrites an
        existing object stays open until that object's last record arrives."""
        if self._open is None or self._fixed is not None:
            return None
        return self._close()

    def _ends_before(self, offset: int, timestamp: int, size: int) -> bool:
        batch = self._open
        assert batch is not None
        if self._fixed is not None:
            return offset > self._fixed.last  # only when the log skipped that object's end
        following = next((r for r in self._existing if r.first > batch.first), None)
        if following is not None and offset >= following.first:
            return True
        if batch.size + size > self._rotation.max_bytes:
            return True
        span = max(batch.max_timestamp, timestamp) - min(batch.min_timestamp, timestamp)
        return span > self._rotation.max_span_ms

    def _existing_at(self, offset: int) -> ObjectRange | None:
        return next((r for r in self._existing if r.first <= offset <= r.last), None)

    def _close(self) -> Batch:
        batch, self._open, self._fixed = self._open, None, None
        assert batch is not None
        self._existing = [r for r in self._existing if r.last > batch.last]
        return batch
