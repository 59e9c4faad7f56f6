"""Avatar refresh: customers whose photo was last checked long ago are asked for again.

Telegram tells nobody when a user changes only their profile photo, so the customer events that
normally cause ``fetch_avatar`` never come for it. Every ``interval_s`` this loop takes the
``batch`` customers checked longest ago (before ``after``), each through the deal with its latest
activity (that deal's owner and side carry the command), and publishes ``fetch_avatar`` for
them. The command id is derived from the customer and the check it renews, so several
``chatsync commands`` processes asking at once ask under one id, and the next round asks again
only for customers the executor has not refreshed yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chatsync.agents.commands.errors import StoreUnavailable
from chatsync.agents.commands.models import FetchAvatar, Side, fetch_avatar
from chatsync.envelopes import utc_now
from chatsync.producers.errors import PublishUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StaleAvatar:
    """A customer whose photo was checked at ``checked_at``, reached through one of its deals."""

    customer_id: str
    user_id: int
    owner_user_id: int
    source: str
    checked_at: datetime


@dataclass(frozen=True, slots=True)
class RefreshPolicy:
    after: timedelta  # a photo checked longer ago than this is checked again
    batch: int  # customers per round
    interval_s: float  # between rounds


def refresh_command(stale: StaleAvatar) -> FetchAvatar:
    side: Side = "botapi" if stale.source == "botapi" else "mtproto"
    return fetch_avatar(
        customer_id=stale.customer_id, user_id=stale.user_id, owner_user_id=stale.owner_user_id,
        side=side, cause=f"refresh:{stale.checked_at.isoformat()}",
    )  # fmt: skip


FindStale = Callable[[datetime, int], Awaitable[list[StaleAvatar]]]
Publish = Callable[[FetchAvatar], Awaitable[None]]


class AvatarRefresher:
    """The refresh rounds, with the ``run``/``stop`` shape of the consumer loops."""

    def __init__(
        self, find_stale: FindStale, publish: Publish, policy: RefreshPolicy,
        *, clock: Callable[[], datetime] = utc_now,
    ) -> None:  # fmt: skip
        self._find_stale, self._publish, self._policy, self._clock = (
            find_stale, publish, policy, clock
        )  # fmt: skip
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                asked = await self.round()
            except (StoreUnavailable, PublishUnavailable) as error:
                log.warning("avatar refresh: round skipped: %s", error)
            else:
                if asked:
                    log.info("avatar refresh: asked again for %d customers", asked)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._policy.interval_s)

    async def round(self) -> int:
        """One round: publish a command per stale customer; how many were asked for."""
        stale = await self._find_stale(self._clock() - self._policy.after, self._policy.batch)
        for customer in stale:
            await self._publish(refresh_command(customer))
        return len(stale)
