"""What a sink runner reports: counters, the last flush, and the lag of its consumer group.

Plain Python on purpose: the runner updates these objects in place and anything may read them
(the API exports them to Prometheus later; tests and ``chatsync sinks`` read them directly).
Lag is ``end offset - committed offset`` per partition (read_committed: the last stable offset),
refreshed while the runner consumes and while it waits for a store to come back, so an outage
shows as growing lag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TopicPartitionKey = tuple[str, int]


@dataclass
class SinkMetrics:
    """Counters of one sink runner, updated in place."""

    name: str
    records: int = 0  #: records consumed and added to a batch
    dead_letters: int = 0  #: records sent to the DLQ (undecodable)
    batches: int = 0  #: batches written and committed
    rows: int = 0  #: rows (PostgreSQL) or items (DynamoDB) the batches wrote
    errors: int = 0  #: failed write attempts (each one retried with backoff)
    consecutive_errors: int = 0  #: failed attempts since the last successful flush
    last_error: str | None = None
    last_flush_seconds: float | None = None  #: duration of the last successful flush
    last_flush_at: float | None = None  #: time.time() of the last successful flush
    committed: dict[TopicPartitionKey, int] = field(default_factory=dict)
    lag: dict[TopicPartitionKey, int] = field(default_factory=dict)

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())

    @property
    def backing_off(self) -> bool:
        """True while the store is refusing writes (the runner retries, nothing is committed)."""
        return self.consecutive_errors > 0

    def flushed(self, rows: int, seconds: float, at: float) -> None:
        self.batches += 1
        self.rows += rows
        self.last_flush_seconds = seconds
        self.last_flush_at = at
        self.consecutive_errors = 0

    def failed(self, error: BaseException) -> None:
        self.errors += 1
        self.consecutive_errors += 1
        self.last_error = f"{type(error).__name__}: {error}"[:500]

    def update_lag(self, ends: dict[TopicPartitionKey, int], committed: dict[TopicPartitionKey, int]
                   ) -> None:  # fmt: skip
        """Lag per assigned partition; a partition never committed counts from its start offset,
        which the caller passes in ``committed``."""
        self.lag = {tp: max(0, end - committed.get(tp, 0)) for tp, end in ends.items()}

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy (partitions as ``topic[partition]``)."""
        return {
            "name": self.name,
            "records": self.records,
            "dead_letters": self.dead_letters,
            "batches": self.batches,
            "rows": self.rows,
            "errors": self.errors,
            "consecutive_errors": self.consecutive_errors,
            "last_error": self.last_error,
            "last_flush_seconds": self.last_flush_seconds,
            "last_flush_at": self.last_flush_at,
            "total_lag": self.total_lag,
            "lag": {f"{t}[{p}]": n for (t, p), n in sorted(self.lag.items())},
        }
