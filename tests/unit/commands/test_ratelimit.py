"""The token bucket, on a clock the test moves (no real time passes)."""

from __future__ import annotations

import asyncio

import pytest

from chatsync.agents.commands.errors import RetryLater
from chatsync.agents.commands.ports import Throttled
from chatsync.agents.commands.ratelimit import TokenBucket
from tests.unit.commands.fakes import ScriptedEdge


class FakeClock:
    """``now`` moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _bucket(rate: float, burst: float | None = None) -> tuple[TokenBucket, FakeClock]:
    clock = FakeClock()
    return TokenBucket(rate, burst, clock=clock, sleep=clock.sleep), clock


async def test_a_burst_then_one_token_per_interval() -> None:
    bucket, clock = _bucket(rate=4)
    for _ in range(4):
        await bucket.acquire()
    assert clock.sleeps == []
    for _ in range(3):
        await bucket.acquire()
    assert clock.sleeps == [0.25, 0.25, 0.25]


async def test_idle_time_refills_up_to_the_burst_only() -> None:
    bucket, clock = _bucket(rate=2, burst=2)
    await bucket.acquire()
    await bucket.acquire()
    clock.now += 60
    for _ in range(3):
        await bucket.acquire()
    assert clock.sleeps == [0.5]


async def test_a_hold_stops_every_request_until_it_ends() -> None:
    bucket, clock = _bucket(rate=10)
    bucket.hold(7)
    await bucket.acquire()
    assert clock.sleeps == [7]
    bucket.hold(1)
    bucket.hold(0.5)  # a shorter hold does not shorten the longer one
    await bucket.acquire()
    assert clock.sleeps == [7, 1]


async def test_concurrent_waiters_are_served_one_token_each() -> None:
    bucket, clock = _bucket(rate=1)
    await asyncio.gather(*(bucket.acquire() for _ in range(4)))
    assert clock.now == pytest.approx(103.0), "one a second after the first"


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)


async def test_telegrams_wait_holds_the_side_through_the_throttle() -> None:
    bucket, clock = _bucket(rate=100)
    edge = Throttled(ScriptedEdge(photos={5: b"x"}, errors=[RetryLater(30)]), bucket)
    with pytest.raises(RetryLater):
        await edge.profile_photo(5)
    assert await edge.profile_photo(5) == b"x"
    assert clock.sleeps == [30]
