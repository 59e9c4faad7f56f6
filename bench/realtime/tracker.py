"""Matching frames to the updates that caused them, and a step's latency figures.

Every event of a sent update is expected once on every socket of its owner. A frame's latency is
its arrival time minus the time its update was scheduled to be sent. A frame that has not
arrived when the step is measured counts as infinitely late: the percentiles are taken over all
expected frames, so when more than 1 % are missing p99 is only known to be at least the time the
last update of the step has been waiting (reported with ``p99_is_lower_bound``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.realtime.senders import Sent
from bench.realtime.sockets import Received
from bench.realtime.workload import Event


@dataclass(slots=True)
class Step:
    """One rate for one path (``subject``: webhook to worker to sockets, ``baseline``: a direct
    produce of the same events to sockets)."""

    name: str
    path: str
    rate: float
    sent: Sent = field(default_factory=Sent)
    latencies: list[float] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    expected_frames: int = 0
    updates_with_frames: int = 0
    pending_updates: set[int] = field(default_factory=set)
    backlog_at_start: int = 0


@dataclass(slots=True)
class _Expected:
    step: Step
    number: int  # the step's position in the run
    index: int  # the update's position in its step
    sockets: set[int]
    ids: tuple[str, ...]  # its event id and any alias


@dataclass(slots=True)
class Tracker:
    sockets_of: dict[int, list[int]]  # owner -> socket indexes
    _expected: dict[str, _Expected] = field(default_factory=dict)
    _pending: dict[tuple[int, int], int] = field(default_factory=dict)  # (step, index) -> frames
    _steps: list[Step] = field(default_factory=list)
    unexpected: int = 0
    duplicates: int = 0
    heartbeats: int = 0
    closed: list[tuple[int, int | None]] = field(default_factory=list)

    def expect(self, step: Step, events: Sequence[Sequence[Event]]) -> None:
        """Register the frames of a step's updates (before sending them)."""
        step.backlog_at_start = self.backlog()
        number = len(self._steps)
        self._steps.append(step)
        for index, update in enumerate(events):
            frames = 0
            for event in update:
                sockets = set(self.sockets_of[event.owner])
                expected = _Expected(step, number, index, sockets, (event.event_id, *event.aliases))
                for name in expected.ids:
                    self._expected[name] = expected
                frames += len(sockets)
            if frames:
                self._pending[(number, index)] = frames
                step.pending_updates.add(index)
                step.expected_frames += frames
                step.updates_with_frames += 1

    def record(self, received: Received) -> None:
        self.heartbeats += received.heartbeats
        self.closed.extend(received.closed)
        for event_id, socket, at in received.arrivals:
            expected = self._expected.get(event_id)
            if expected is None:
                self.unexpected += 1
                continue
            if socket not in expected.sockets:
                self.duplicates += 1
                continue
            expected.sockets.discard(socket)
            step = expected.step
            step.latencies.append(at - step.sent.scheduled(expected.index, step.rate))
            step.arrivals.append(at)
            self._delivered(expected)

    def _delivered(self, expected: _Expected) -> None:
        if not expected.sockets:
            for name in expected.ids:
                self._expected.pop(name, None)
        key = (expected.number, expected.index)
        self._pending[key] -= 1
        if not self._pending[key]:
            del self._pending[key]
            expected.step.pending_updates.discard(expected.index)

    def backlog(self) -> int:
        """Updates sent (or registered) whose frames have not all arrived yet."""
        return len(self._pending)

    def done(self) -> bool:
        return not self._pending

    def waiting(self, step: Step, now: float) -> list[float]:
        """How long each of the step's missing frames has waited so far (a lower bound of its
        latency)."""
        missing = {id(e): e for e in self._expected.values() if e.step is step}
        return [
            now - step.sent.scheduled(expected.index, step.rate)
            for expected in missing.values()
            for _ in expected.sockets
        ]


def percentile(known: Sequence[float], waiting: Sequence[float], q: float) -> tuple[float, bool]:
    """The ``q`` quantile (nearest rank) of values of which ``known`` (sorted) are exact and
    ``waiting`` (sorted) only lower bounds. Returns a lower bound of the quantile and whether it
    is exact: it is when the same rank over the known values alone gives the same value."""
    total = len(known) + len(waiting)
    if total == 0:
        return 0.0, True
    rank = max(1, math.ceil(q * total))
    lower = sorted([*known[:rank], *waiting[:rank]])[rank - 1]
    exact = rank <= len(known) and known[rank - 1] == lower
    return lower, exact


def latency_figures(known: list[float], waiting: list[float]) -> dict[str, float]:
    """p50/p90/p99/max in ms over every expected frame of a step (see ``percentile``)."""
    known, waiting = sorted(known), sorted(waiting)
    figures: dict[str, float] = {}
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)):
        value, exact = percentile(known, waiting, q)
        figures[f"{name}_ms"] = round(value * 1000, 1)
        if name in ("p99", "max"):
            figures[f"{name}_is_lower_bound"] = not exact
    return figures
