"""Open-loop load: item ``i`` of a step is sent at ``t0 + i / rate`` whatever happened to the
earlier ones (nothing waits for a response before the next send), and every latency is measured
from that scheduled time, so a sender that falls behind makes latency worse, never better."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer

from bench.realtime.workload import Event

SECRET = "bench-realtime-secret"  # noqa: S105 - a throwaway value for the benchmark
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


@dataclass(slots=True)
class Sent:
    """What the sender saw in one step."""

    t0: float = 0.0
    finished: float = 0.0  # when the last item was handed over
    lags: list[float] = field(default_factory=list)  # actual send time minus scheduled time
    acks: list[float] = field(default_factory=list)  # acknowledgement minus scheduled time
    failures: int = 0
    on_finished: Callable[[], None] | None = None  # called as soon as the last item is handed over

    def scheduled(self, index: int, rate: float) -> float:
        return self.t0 + index / rate


async def paced(
    count: int, rate: float, fire: Callable[[int, float], Awaitable[None]], sent: Sent
) -> None:
    """Call ``fire(i, scheduled)`` for every ``i`` at its scheduled time."""
    sent.t0 = time.monotonic() + 0.05
    for index in range(count):
        scheduled = sent.t0 + index / rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sent.lags.append(time.monotonic() - scheduled)
        await fire(index, scheduled)
    sent.finished = time.monotonic()
    if sent.on_finished is not None:
        sent.on_finished()


async def post_step(
    http: aiohttp.ClientSession, urls: Sequence[str], bodies: Sequence[bytes], rate: float,
    sent: Sent,
) -> None:  # fmt: skip
    """POST every update to the webhooks (round robin), open loop."""
    tasks = []

    async def post(index: int, scheduled: float) -> None:
        url = urls[index % len(urls)]
        try:
            async with http.post(url, data=bodies[index], headers=HEADERS) as response:
                await response.read()
                ok = response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        sent.acks.append(time.monotonic() - scheduled)
        sent.failures += not ok

    async def fire(index: int, scheduled: float) -> None:
        tasks.append(asyncio.create_task(post(index, scheduled)))

    await paced(len(bodies), rate, fire, sent)
    await asyncio.gather(*tasks)


async def produce_step(
    producer: AIOKafkaProducer, topics: dict[str, str], events: Sequence[Sequence[Event]],
    rate: float, sent: Sent,
) -> None:  # fmt: skip
    """Publish each update's already-normalised events straight to the output topics, open loop
    (acks=all and no linger, as the worker; batches up to 1 MiB so that this producer, which
    waits when a partition's batch is full, never holds the rate back)."""
    deliveries: list[asyncio.Future[Any]] = []

    def acked(scheduled: float) -> Callable[[asyncio.Future[Any]], None]:
        return lambda _: sent.acks.append(time.monotonic() - scheduled)

    async def fire(index: int, scheduled: float) -> None:
        for event in events[index]:
            delivery = await producer.send(topics[event.role], event.value, key=event.key)
            delivery.add_done_callback(acked(scheduled))
            deliveries.append(delivery)

    await paced(len(events), rate, fire, sent)
    outcomes = await asyncio.gather(*deliveries, return_exceptions=True)
    sent.failures = sum(isinstance(outcome, BaseException) for outcome in outcomes)
