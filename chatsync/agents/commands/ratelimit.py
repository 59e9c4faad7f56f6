"""A token bucket per side of the Telegram edge: at most ``rate`` requests per second.

The bucket holds up to ``burst`` tokens (default: one second's worth) and refills continuously.
When Telegram asks to wait (429 ``retry_after``, a flood wait), the limit applies to the whole bot
or account, so ``hold`` stops every request of that side until then. Waiters are served in turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock, self._sleep = clock, sleep
        self._tokens = self.burst
        self._stamp = clock()
        self._held_until = 0.0
        self._turn = asyncio.Lock()

    async def acquire(self) -> None:
        """Take one token, waiting for it (and for any hold) first."""
        async with self._turn:
            while (wait := self._wait()) > 0:
                await self._sleep(wait)
            self._tokens -= 1

    def hold(self, seconds: float) -> None:
        """No token before ``seconds`` from now (Telegram asked the whole side to wait)."""
        self._held_until = max(self._held_until, self._clock() + seconds)

    def _wait(self) -> float:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if now < self._held_until:
            return self._held_until - now
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
