"""What a replay will copy, partition by partition, and how it is shown (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class PartitionPlan:
    """The records of one source partition a replay copies: offsets ``start`` .. ``end - 1``.

    ``records`` is exact for a topic (offsets without gaps) and an upper bound for a time range
    of the archive (``exact`` False), where the first and last objects may hold records outside
    the range; timestamps are those of the first and last record (milliseconds), when known.
    """

    topic: str
    partition: int
    start: int
    end: int
    records: int
    exact: bool = True
    first_timestamp: int | None = None
    last_timestamp: int | None = None

    @property
    def key(self) -> str:
        return f"{self.topic}:{self.partition}"


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    source: str
    target: str
    partitions: tuple[PartitionPlan, ...]

    @property
    def records(self) -> int:
        return sum(p.records for p in self.partitions)

    @property
    def exact(self) -> bool:
        return all(p.exact for p in self.partitions)


def plan_lines(plan: ReplayPlan) -> list[str]:
    """The plan as a table: one line per partition, then the total."""
    lines = [
        f"source: {plan.source}",
        f"target: {plan.target}",
        f"{'partition':<28} {'offsets':>27} {'records':>12}  time range (UTC)",
    ]
    for p in plan.partitions:
        count = f"{'' if p.exact else '<= '}{p.records:,}"
        offsets = f"{p.start}..{p.end - 1}" if p.end > p.start else "-"
        span = (
            f"{format_time(p.first_timestamp)} .. {format_time(p.last_timestamp)}"
            if p.records
            else ""
        )
        lines.append(f"{p.key:<28} {offsets:>27} {count:>12}  {span}")
    total = f"{'' if plan.exact else '<= '}{plan.records:,}"
    lines.append(f"{'total':<28} {'':>27} {total:>12}")
    return lines


def summary_lines(
    replay_id: str, replayed: dict[str, int], elapsed_s: float, finished: bool
) -> list[str]:
    total = sum(replayed.values())
    rate = total / elapsed_s if elapsed_s > 0 else 0.0
    state = "complete" if finished else "interrupted: run the same command again to resume"
    lines = [f"replay {replay_id}: {state}"]
    lines += [f"  {key:<28} {count:>12,} records" for key, count in sorted(replayed.items())]
    lines.append(f"  {'total':<28} {total:>12,} records in {elapsed_s:.1f} s ({rate:,.0f}/s)")
    return lines


def merge_timestamps(values: Iterable[int | None]) -> tuple[int | None, int | None]:
    known = [v for v in values if v is not None]
    return (min(known), max(known)) if known else (None, None)


def format_time(timestamp_ms: int | None) -> str:
    """Milliseconds since the epoch as ``YYYY-MM-DD HH:MM:SS`` UTC (``?`` when unknown)."""
    if timestamp_ms is None:
        return "?"
    moment = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")
