"""The avatar refresh rounds (pure parts; the query and the topic: integration/test_commands)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from chatsync.agents.commands.errors import StoreUnavailable
from chatsync.agents.commands.models import FetchAvatar
from chatsync.agents.commands.refresh import (
    AvatarRefresher,
    RefreshPolicy,
    StaleAvatar,
    refresh_command,
)

NOW = datetime(2026, 5, 1, tzinfo=UTC)
POLICY = RefreshPolicy(after=timedelta(days=7), batch=2, interval_s=0.01)


def _stale(user_id: int, checked_at: datetime, source: str = "botapi") -> StaleAvatar:
    return StaleAvatar(f"tg_{user_id}", user_id, 42, source, checked_at)


def test_the_command_id_names_the_customer_and_the_check_it_renews() -> None:
    first = refresh_command(_stale(1, NOW - timedelta(days=9)))
    assert first == refresh_command(_stale(1, NOW - timedelta(days=9))).model_copy(
        update={"created_at": first.created_at}
    ), "asked twice (two processes, or two rounds before it ran): one id"
    assert first.command_id != refresh_command(_stale(1, NOW - timedelta(days=8))).command_id
    assert first.command_id != refresh_command(_stale(2, NOW - timedelta(days=9))).command_id
    assert (first.side, refresh_command(_stale(1, NOW, "mtproto")).side) == ("botapi", "mtproto")


async def test_a_round_asks_for_the_batch_checked_before_the_cutoff() -> None:
    asked: list[tuple[datetime, int]] = []
    published: list[FetchAvatar] = []
    stale = [_stale(1, NOW - timedelta(days=30)), _stale(2, NOW - timedelta(days=8))]

    async def find_stale(checked_before: datetime, limit: int) -> list[StaleAvatar]:
        asked.append((checked_before, limit))
        return stale

    async def publish(command: FetchAvatar) -> None:
        published.append(command)

    refresher = AvatarRefresher(find_stale, publish, POLICY, clock=lambda: NOW)
    assert await refresher.round() == 2
    assert asked == [(NOW - timedelta(days=7), 2)]
    assert [c.user_id for c in published] == [1, 2]


async def test_an_unavailable_store_skips_a_round_and_stop_ends_the_loop() -> None:
    rounds = 0

    async def find_stale(checked_before: datetime, limit: int) -> list[StaleAvatar]:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise StoreUnavailable("PostgreSQL: down")
        if rounds == 3:
            refresher.stop()
        return []

    async def publish(command: FetchAvatar) -> None:
        raise AssertionError("nothing to publish")

    refresher = AvatarRefresher(find_stale, publish, POLICY, clock=lambda: NOW)
    await asyncio.wait_for(refresher.run(), 10)
    assert rounds == 3
