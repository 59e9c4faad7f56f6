"""Running one step (one path at one rate) and turning what was seen into its figures."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer

from bench.realtime.senders import Sent, post_step, produce_step
from bench.realtime.sockets import RemoteSockets
from bench.realtime.system import BenchError, CpuSnapshot, System, say
from bench.realtime.tracker import Step, Tracker, latency_figures, percentile
from bench.realtime.workload import Entry, Event, Workload

COLLECT_EVERY_S = 0.2
WARM_RATE = 1000.0  # deal events per second of the unmeasured cache warm-up


@dataclass(frozen=True, slots=True)
class Timing:
    duration_s: float
    grace_s: float  # after the last send: how long frames may still arrive to count
    drain_s: float  # then: how long to wait for a backlog to clear before the next step
    hold_p99_ms: float  # a step "held" when every frame came and p99 stayed within this


@dataclass
class Runner:
    system: System
    sockets: RemoteSockets
    tracker: Tracker
    workload: Workload
    http: aiohttp.ClientSession
    producer: AIOKafkaProducer
    warm: set[bytes] = field(default_factory=set)  # deals whose customer every socket has cached

    @contextlib.asynccontextmanager
    async def collecting(self) -> AsyncIterator[None]:
        """Pull arrivals from the socket process in the background (and watch the processes)."""
        task = asyncio.create_task(self._collect_forever())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _collect_forever(self) -> None:
        while True:
            await asyncio.sleep(COLLECT_EVERY_S)
            await self.collect()

    async def collect(self) -> None:
        self.tracker.record(await self.sockets.collect())
        self.system.check_alive()
        if not self.sockets.process.is_alive():
            raise BenchError("the WebSocket client process died")

    async def warm_up(self, count: int, rate: float, timeout_s: float) -> dict[str, float]:
        """Post the first updates (every owner's connection, then messages) and wait until all
        their frames came: the worker has its partitions, the hubs and the sockets are live."""
        entries = await asyncio.to_thread(self.workload.take, count)
        step = Step("warmup", "subject", rate)
        await self._send(step, [e.events for e in entries], [e.body for e in entries])
        if not await self._wait(step, timeout_s):
            raise BenchError(self._warm_up_failed(step, count, timeout_s))
        self._warmed(entries)
        return {"warmup_updates": count, "warmup_s": round(time.monotonic() - step.sent.t0, 1)}

    def _warm_up_failed(self, step: Step, count: int, timeout_s: float) -> str:
        tracker = self.tracker
        return (
            f"warm-up: {len(step.pending_updates)} of {count} updates had not reached the sockets "
            f"after {timeout_s:.0f} s ({len(step.latencies)} frames, {step.sent.failures} failed "
            f"posts, {tracker.unexpected} unexpected frames, {tracker.heartbeats} heartbeats, "
            f"close codes {_codes(tracker)})"
        )

    def _warmed(self, entries: Sequence[Entry]) -> None:
        self.warm.update(e.key for entry in entries for e in entry.events if e.role == "deals")

    async def warm_caches(self, entries: Sequence[Entry], timeout_s: float) -> None:
        """Not measured: one frame of each deal no socket has seen yet, published straight to
        the topic, so that every socket has looked its customer up before the step. The server
        caches a customer per socket; a long-lived socket has its owner's customers cached, and
        the first step over a deal must not pay for the lookup on one side and not the other."""
        first: dict[bytes, Event] = {}
        for event in (e for entry in entries for e in entry.events if e.role == "deals"):
            if event.key not in self.warm:
                first.setdefault(event.key, event.renamed("warm"))
        if not first:
            return
        step = Step(f"warm-{len(self.warm)}", "baseline", WARM_RATE)
        await self._send(step, [(event,) for event in first.values()], [])
        if not await self._wait(step, timeout_s, since=step.sent.finished):
            say(f"cache warm-up: {len(step.pending_updates)} deals still missing")
        self.warm.update(first)

    async def step(self, name: str, path: str, rate: float, timing: Timing) -> dict[str, Any]:
        """One step: ``subject`` posts the next updates to the webhook; ``baseline`` publishes
        the events those same updates produce (under other ids) straight to the output topics."""
        count = max(1, round(rate * timing.duration_s))
        if path == "subject":
            entries = await asyncio.to_thread(self.workload.take, count)
            events = [entry.events for entry in entries]
        else:
            entries = await asyncio.to_thread(self.workload.peek, count)
            events = [tuple(e.renamed(name) for e in entry.events) for entry in entries]
        await self.warm_caches(entries, timing.drain_s)
        step = Step(name, path, rate)
        end = await self._send(step, events, [entry.body for entry in entries])
        await self._wait(step, timing.grace_s, since=step.sent.finished)
        figures = self._figures(step, end, timing, count)
        step.latencies, step.arrivals = [], []  # measured: later stragglers are not needed
        self._warmed(entries)
        say(f"{name}: {_summary(figures)}")
        return figures

    async def _send(
        self, step: Step, events: Sequence[Sequence[Event]], bodies: Sequence[bytes]
    ) -> dict[str, float]:
        """Send the step; the state right at the end of sending (backlog, worker lag, CPU used
        while sending), before waiting for the last acknowledgements."""
        await self.system.write_customers(self.workload.customers)
        self.tracker.expect(step, events)
        gc.collect()
        gc.freeze()  # the prepared updates and expectations: no full collection scans them now
        pids = {**self.system.pids(), "sockets": [self.sockets.process.pid or 0]}
        before = CpuSnapshot.take(pids, time.monotonic())
        ended: list[asyncio.Task[dict[str, float]]] = []

        def on_finished() -> None:
            cpu = CpuSnapshot.take(pids, time.monotonic()).cores_since(before)
            ended.append(asyncio.create_task(self._end_of_send(step, cpu)))

        step.sent.on_finished = on_finished
        if step.path == "subject":
            await post_step(self.http, self.system.webhooks, bodies, step.rate, step.sent)
        else:
            await produce_step(self.producer, self.system.topics, events, step.rate, step.sent)
        return await ended[0]

    async def _end_of_send(self, step: Step, cpu: dict[str, float]) -> dict[str, float]:
        await self.collect()
        end = {"backlog_updates_at_end_of_send": self.tracker.backlog(), **cpu}
        if step.path == "subject":
            end["worker_lag_at_end_of_send"] = await self.system.worker_lag()
        return end

    async def _wait(self, step: Step, timeout_s: float, since: float | None = None) -> bool:
        """Until every frame of ``step`` came, or ``timeout_s`` after ``since`` (default: now)."""
        deadline = (since or time.monotonic()) + timeout_s
        while True:
            await self.collect()
            if not step.pending_updates or time.monotonic() >= deadline:
                return not step.pending_updates
            await asyncio.sleep(COLLECT_EVERY_S)

    async def drain(self, timeout_s: float) -> bool:
        """Until no frame of any step is missing (a backlog would distort the next step)."""
        deadline = time.monotonic() + timeout_s
        while True:
            await self.collect()
            if self.tracker.done() or time.monotonic() >= deadline:
                return self.tracker.done()
            await asyncio.sleep(COLLECT_EVERY_S)

    def _figures(
        self, step: Step, end: dict[str, float], timing: Timing, count: int
    ) -> dict[str, Any]:
        measured_at = time.monotonic()
        sent = step.sent
        waiting = self.tracker.waiting(step, measured_at)
        latency = latency_figures(step.latencies, waiting)
        span = max(sent.finished - sent.t0, 1e-9)
        figures: dict[str, Any] = {
            "step": step.name, "path": step.path, "rate": step.rate, "updates": count,
            "sent_per_second": round(count / span, 1),
            "updates_with_frames": step.updates_with_frames,
            "expected_frames": step.expected_frames, "frames": len(step.latencies),
            "undelivered_frames": len(waiting),
            "frames_per_second": round(_in_window(step, sent) / span, 1),
            **latency,
            "measured_s_after_last_send": round(measured_at - sent.finished, 1),
            "backlog_updates_at_start": step.backlog_at_start, **end,
            "send_failures": sent.failures, **_send_figures(sent),
            "sockets_closed": len(self.tracker.closed),
        }  # fmt: skip
        figures["held"] = (
            not latency["p99_is_lower_bound"] and latency["p99_ms"] <= timing.hold_p99_ms
            and not sent.failures and not self.tracker.closed
        )  # fmt: skip
        return figures


def _codes(tracker: Tracker) -> list[int | None]:
    return sorted({code for _, code in tracker.closed}, key=str)


def _in_window(step: Step, sent: Sent) -> int:
    """Frames of the step that arrived while it was sending."""
    return sum(1 for arrived in step.arrivals if arrived <= sent.finished)


def _send_figures(sent: Sent) -> dict[str, float]:
    """Acknowledgement (webhook 200, or Kafka's ack of each produced event) and how late the
    sender was, both from the scheduled send time."""
    lags, acks = sorted(sent.lags), sorted(sent.acks)

    def ms(values: list[float], q: float) -> float:
        return round(percentile(values, [], q)[0] * 1000, 1)

    return {"ack_p50_ms": ms(acks, 0.5), "ack_p99_ms": ms(acks, 0.99),
            "send_lag_p99_ms": ms(lags, 0.99), "send_lag_max_ms": ms(lags, 1.0)}  # fmt: skip


def _summary(figures: dict[str, Any]) -> str:
    keys = ("sent_per_second", "frames_per_second", "p50_ms", "p99_ms", "undelivered_frames",
            "backlog_updates_at_end_of_send", "worker_lag_at_end_of_send", "cpu_cores_machine",
            "held")  # fmt: skip
    return ", ".join(f"{key}={figures[key]}" for key in keys if key in figures)
