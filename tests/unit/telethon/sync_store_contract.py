"""One contract for every SyncStore (in memory here, PostgreSQL in tests/integration).

A subclass provides the fixtures ``store``, ``expire`` (make a task's lease run out, as if its
process died long ago) and ``account`` (an account id no other test uses).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from chatsync.producers.telethon.errors import SyncAlreadyRunning, SyncInterrupted
from chatsync.producers.telethon.synctasks import DialogProgress, SyncState, SyncStore

MAX = datetime(2026, 6, 1, tzinfo=UTC)
MIN = datetime(2026, 1, 1, tzinfo=UTC)
Expire = Callable[[str], Awaitable[None]]


class SyncStoreContract:
    async def test_one_active_task_per_account(self, store: SyncStore, account: int) -> None:
        task = await store.start(account, min_date=MIN, max_date=MAX, owner="a")
        assert (task.state, task.owner, task.min_date, task.max_date) == (
            SyncState.PENDING,
            "a",
            MIN,
            MAX,
        )

        with pytest.raises(SyncAlreadyRunning) as second:
            await store.start(account, min_date=None, max_date=MAX, owner="b")
        assert second.value.task_id == task.id
        assert task.id in str(second.value)
        again = await store.start(account, min_date=None, max_date=MAX, owner="a")
        assert again.id == task.id
        other = await store.start(account + 1, min_date=None, max_date=MAX, owner="b")
        assert other.id != task.id

    async def test_concurrent_starts_let_exactly_one_win(
        self, store: SyncStore, account: int
    ) -> None:
        results = await asyncio.gather(
            *(store.start(account, min_date=None, max_date=MAX, owner=f"o{i}") for i in range(4)),
            return_exceptions=True,
        )
        won = [r for r in results if not isinstance(r, BaseException)]
        lost = [r for r in results if isinstance(r, SyncAlreadyRunning)]
        assert len(won) == 1
        assert len(lost) == 3
        assert {e.task_id for e in lost} == {won[0].id}

    async def test_progress_is_counted_and_checkpointed(
        self, store: SyncStore, account: int
    ) -> None:
        task = await store.start(account, min_date=None, max_date=MAX, owner="a")
        await store.begin(task.id, "a", dialogs_total=3, dialogs_done=0)
        for message_id in (30, 20, 10):
            await store.checkpoint(task.id, "a", chat_id=42, message_id=message_id)
        await store.checkpoint(task.id, "a", chat_id=43, message_id=7)
        await store.dialog_done(task.id, "a", 42)
        await store.dialog_done(task.id, "a", 42)  # a repeat counts once
        await store.dialog_done(task.id, "a", 44)  # a dialog without messages

        status = await store.get(task.id)
        assert status is not None
        assert (status.state, status.dialogs_total, status.dialogs_done) == (
            SyncState.RUNNING,
            3,
            2,
        )
        assert (status.messages_sent, status.current_dialog) == (4, 43)
        assert status.started_at is not None
        assert await store.progress(task.id) == {
            42: DialogProgress(42, 10, 3, True),
            43: DialogProgress(43, 7, 1, False),
            44: DialogProgress(44, None, 0, True),
        }

    async def test_an_expired_lease_is_taken_over_with_its_checkpoints(
        self, store: SyncStore, account: int, expire: Expire
    ) -> None:
        task = await store.start(account, min_date=MIN, max_date=MAX, owner="crashed")
        await store.begin(task.id, "crashed", dialogs_total=2, dialogs_done=0)
        await store.checkpoint(task.id, "crashed", chat_id=42, message_id=30)
        await expire(task.id)

        taken = await store.start(account, min_date=None, max_date=MAX, owner="b")

        assert (taken.id, taken.owner, taken.min_date) == (task.id, "b", MIN)
        assert (await store.progress(task.id))[42].last_message_id == 30
        with pytest.raises(SyncInterrupted, match="taken over"):
            await store.checkpoint(task.id, "crashed", chat_id=42, message_id=20)
        await store.checkpoint(task.id, "b", chat_id=42, message_id=20)
        assert (await store.progress(task.id))[42] == DialogProgress(42, 20, 2, False)

    async def test_a_released_task_waits_for_the_next_start(
        self, store: SyncStore, account: int
    ) -> None:
        task = await store.start(account, min_date=None, max_date=MAX, owner="a")
        await store.begin(task.id, "a", dialogs_total=1, dialogs_done=0)
        await store.release(task.id, "a")
        released = await store.get(task.id)
        assert released is not None
        assert (released.state, released.owner) == (SyncState.PENDING, None)

        taken = await store.start(account, min_date=None, max_date=MAX, owner="b")
        assert (taken.id, taken.owner) == (task.id, "b")

    async def test_a_finished_task_frees_the_account(self, store: SyncStore, account: int) -> None:
        task = await store.start(account, min_date=None, max_date=MAX, owner="a")
        await store.finish(task.id, "a", SyncState.FAILED, "RPCError: boom")
        done = await store.get(task.id)
        assert done is not None
        assert (done.state, done.error, done.lease_until) == (
            SyncState.FAILED,
            "RPCError: boom",
            None,
        )
        assert done.finished_at is not None
        with pytest.raises(SyncInterrupted, match="failed"):
            await store.heartbeat(task.id, "a")

        following = await store.start(account, min_date=None, max_date=MAX, owner="b")
        assert following.id != task.id
        latest = await store.latest(account)
        assert latest is not None
        assert latest.id == following.id

    async def test_cancel_stops_the_owner_at_its_next_write(
        self, store: SyncStore, account: int
    ) -> None:
        task = await store.start(account, min_date=None, max_date=MAX, owner="a")
        assert await store.cancel(task.id)
        assert not await store.cancel(task.id)
        with pytest.raises(SyncInterrupted, match="cancelled"):
            await store.checkpoint(task.id, "a", chat_id=1, message_id=1)
        status = await store.get(task.id)
        assert status is not None
        assert status.state is SyncState.CANCELLED

    async def test_flood_waits_show_in_the_status(self, store: SyncStore, account: int) -> None:
        task = await store.start(account, min_date=None, max_date=MAX, owner="a")
        until = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        await store.flood_wait(task.id, "a", until)
        waiting = await store.get(task.id)
        assert waiting is not None
        assert waiting.flood_wait_until == until
        assert waiting.to_json()["flood_wait_until"] == "2026-06-01T12:00:00Z"
        await store.flood_wait(task.id, "a", None)
        cleared = await store.get(task.id)
        assert cleared is not None
        assert cleared.flood_wait_until is None

    async def test_unknown_tasks(self, store: SyncStore, account: int) -> None:
        assert await store.latest(account) is None
        assert await store.get("00000000-0000-0000-0000-000000000000") is None
        with pytest.raises(SyncInterrupted):
            await store.heartbeat("00000000-0000-0000-0000-000000000000", "a")
