"""History sync against in-memory history: date bounds, flood waits, crashes and resumes."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

import pytest
from telethon import errors
from telethon.tl import types

from chatsync.producers.telethon.backfill import BackfillEngine
from chatsync.producers.telethon.errors import SyncAlreadyRunning, SyncError
from chatsync.producers.telethon.events import Scope
from chatsync.producers.telethon.memstore import InMemorySyncStore
from chatsync.producers.telethon.sync import running_sync, start_sync
from chatsync.producers.telethon.synctasks import SyncState, SyncTask
from tests.fakes.telethon import (
    ACCOUNT,
    Crash,
    DictIndex,
    FakeHistory,
    RecordingPublisher,
    at,
    tl_message,
)
from tests.unit.telethon.test_sync_store import Clock

TOPIC = "tg.raw.mtproto"
MIN, MAX = at(10), at(50)


def _history() -> FakeHistory:
    """Chats 42 (even hours) and 43 (odd hours) over 60 hours, 44 only after MAX, a group and a
    channel; message ids count per account, as Telegram's do outside channels."""
    chats = {
        42: [tl_message(1000 + h, 42, hours=h, out=h % 4 == 0) for h in range(0, 60, 2)],
        43: [tl_message(1000 + h, 43, hours=h) for h in range(1, 60, 2)],
        44: [tl_message(2000 + h, 44, hours=h) for h in (55, 57)],
        -700: [tl_message(3000 + h, types.PeerChat(700), hours=h) for h in range(20, 30)],
        -1000000000800: [tl_message(h, types.PeerChannel(800), hours=h) for h in range(20, 30)],
    }
    peers = {-700: types.PeerChat(700), -1000000000800: types.PeerChannel(800)}
    return FakeHistory(chats, peers)


def _expected(history: FakeHistory) -> set[tuple[int, int]]:
    return {
        (chat, m.id)
        for chat, messages in history.chats.items()
        for m in messages
        if chat > 0 and MIN <= m.date < MAX
    }


def _sent(publisher: RecordingPublisher) -> list[tuple[int, int]]:
    return [(e.chat_id or 0, int(e.payload["id"])) for e in publisher.envelopes()]


class Sleeps:
    """The engine's sleep: records what it was asked, and the task's flood status meanwhile."""

    def __init__(self, store: InMemorySyncStore) -> None:
        self.store, self.task_id = store, ""
        self.calls: list[tuple[float, datetime | None]] = []

    async def __call__(self, seconds: float) -> None:
        task = await self.store.get(self.task_id)
        self.calls.append((seconds, task.flood_wait_until if task else None))


def _engine(
    history: FakeHistory,
    store: InMemorySyncStore,
    publisher: RecordingPublisher,
    owner: str,
    sleeps: Sleeps | None = None,
    index: DictIndex | None = None,
) -> BackfillEngine:
    return BackfillEngine(
        history,
        store,
        publisher,
        topic=TOPIC,
        scope=Scope(ACCOUNT),
        owner=owner,
        sleep=sleeps,
        index=index,
        first_backoff_s=0.5,
    )


async def _start(store: InMemorySyncStore, owner: str) -> SyncTask:
    return await store.start(ACCOUNT, min_date=MIN, max_date=MAX, owner=owner)


async def test_a_crash_and_a_flood_wait_still_send_each_message_once() -> None:
    clock, history = Clock(), _history()
    store = InMemorySyncStore(clock=clock)
    history.flood_before[(43, 1031)] = 30  # in the middle of chat 43
    publisher = RecordingPublisher(crash_after=5)
    sleeps = Sleeps(store)

    task = await _start(store, "host-a")
    sleeps.task_id = task.id
    with pytest.raises(Crash):  # the process dies in the middle of chat 42
        await _engine(history, store, publisher, "host-a", sleeps).run(task)
    assert len(publisher.records) == 5
    with pytest.raises(SyncAlreadyRunning) as busy:  # its lease is still alive
        await _start(store, "host-b")
    assert busy.value.task_id == task.id

    clock.now += store.lease + timedelta(seconds=1)
    resumed = await _start(store, "host-b")
    assert resumed.id == task.id
    state = await _engine(history, store, publisher, "host-b", sleeps).run(resumed)

    assert state is SyncState.SUCCEEDED
    sent = _sent(publisher)
    assert Counter(sent) == Counter(_expected(history))  # exactly those, each once
    for chat in (42, 43):
        ids = [m for c, m in sent if c == chat]
        assert ids == sorted(ids, reverse=True)  # newest first, no gap at the resume
    assert history.calls[:2] == [(42, 0), (42, 1040)]  # resumed below the last checkpoint
    assert (43, 1033) in history.calls  # asked again after the flood wait, from its checkpoint
    flood = [call for call in sleeps.calls if call[0] == 30]
    assert len(flood) == 1
    assert flood[0][1] is not None
    status = await store.get(task.id)
    assert status is not None
    assert (status.state, status.dialogs_total, status.dialogs_done) == (SyncState.SUCCEEDED, 3, 3)
    assert status.messages_sent == len(_expected(history))
    assert status.flood_wait_until is None
    assert status.finished_at is not None


async def test_records_are_backfill_new_messages_of_the_raw_topic() -> None:
    store, publisher, index = InMemorySyncStore(), RecordingPublisher(), DictIndex()
    task = await _start(store, "a")
    await _engine(_history(), store, publisher, "a", index=index).run(task)

    record = publisher.records[0]
    envelope = record.envelope
    assert (record.topic, envelope.source, envelope.update_type) == (
        TOPIC,
        "backfill",
        "new_message",
    )
    assert (envelope.account_user_id, envelope.chat_id) == (ACCOUNT, 42)
    assert record.key == f"acct:{ACCOUNT}:chat:42".encode()
    assert record.dedupe_key == f"{ACCOUNT}:new_message:42:{envelope.payload['id']}"
    assert index.pairs[1048] == 42
    assert index.pairs[1049] == 43


async def test_a_kafka_outage_is_retried_with_backoff_and_nothing_is_lost() -> None:
    store, history = InMemorySyncStore(), _history()
    publisher = RecordingPublisher(failures=3)
    sleeps = Sleeps(store)
    task = await _start(store, "a")
    sleeps.task_id = task.id

    assert await _engine(history, store, publisher, "a", sleeps).run(task) is SyncState.SUCCEEDED
    assert Counter(_sent(publisher)) == Counter(_expected(history))
    assert [s for s, _ in sleeps.calls] == [0.5, 1.0, 2.0]


async def test_a_stopped_sync_is_released_and_resumes_at_once() -> None:
    store, history = InMemorySyncStore(), _history()
    reached, never = asyncio.Event(), asyncio.Event()

    async def hang_at_third(count: int) -> None:
        if count == 3:
            reached.set()
            await never.wait()

    publisher = RecordingPublisher(on_publish=hang_at_third)
    task = await _start(store, "a")
    running = asyncio.create_task(_engine(history, store, publisher, "a").run(task))
    await reached.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    released = await store.get(task.id)
    assert released is not None
    assert (released.state, released.owner) == (SyncState.PENDING, None)
    publisher.on_publish = None
    resumed = await _start(store, "b")  # no need to wait for a lease to run out
    assert resumed.id == task.id
    assert await _engine(history, store, publisher, "b").run(resumed) is SyncState.SUCCEEDED
    assert Counter(_sent(publisher)) == Counter(_expected(history))


async def test_a_cancelled_sync_stops_at_its_next_checkpoint() -> None:
    store = InMemorySyncStore()
    task = await _start(store, "a")

    async def cancel_at_fifth(count: int) -> None:
        if count == 5:
            await store.cancel(task.id)

    publisher = RecordingPublisher(on_publish=cancel_at_fifth)
    assert await _engine(_history(), store, publisher, "a").run(task) is SyncState.CANCELLED
    assert len(publisher.records) == 6


async def test_a_cancel_during_a_long_flood_wait_is_noticed_by_the_heartbeat() -> None:
    store, history = InMemorySyncStore(), _history()
    history.flood_before[(42, 1048)] = 3600
    task = await _start(store, "a")
    engine = BackfillEngine(
        history,
        store,
        RecordingPublisher(),
        topic=TOPIC,
        scope=Scope(ACCOUNT),
        owner="a",
        heartbeat_every_s=0.01,
    )
    running = asyncio.create_task(engine.run(task))
    while engine.progress.flood_wait_until is None:  # noqa: ASYNC110 - waiting for the engine
        await asyncio.sleep(0)
    await store.cancel(task.id)
    assert await running is SyncState.CANCELLED


async def test_a_dialog_telegram_refuses_is_skipped_and_others_go_on() -> None:
    store, history = InMemorySyncStore(), _history()
    history.fail_before[(43, 1049)] = errors.PeerIdInvalidError(None)
    publisher = RecordingPublisher()
    engine = _engine(history, store, publisher, "a")
    task = await _start(store, "a")

    assert await engine.run(task) is SyncState.SUCCEEDED
    assert {c for c, _ in _sent(publisher)} == {42}
    assert engine.progress.skipped == [43]


async def test_network_errors_are_retried_and_fatal_errors_fail_the_task() -> None:
    store, history = InMemorySyncStore(), _history()
    history.fail_before[(42, 1040)] = ConnectionError("reset by peer")
    publisher = RecordingPublisher()
    task = await _start(store, "a")
    assert await _engine(history, store, publisher, "a", Sleeps(store)).run(task) is (
        SyncState.SUCCEEDED
    )
    assert Counter(_sent(publisher)) == Counter(_expected(history))

    history = _history()
    history.fail_before[(43, 1031)] = errors.AuthKeyUnregisteredError(None)
    failing = await store.start(ACCOUNT, min_date=None, max_date=MAX, owner="b")
    state = await _engine(history, store, RecordingPublisher(), "b").run(failing)
    status = await store.get(failing.id)
    assert state is SyncState.FAILED
    assert status is not None
    assert status.state is SyncState.FAILED
    assert status.error is not None
    assert status.error.startswith("AuthKeyUnregisteredError")


async def test_without_a_min_date_the_whole_history_before_max_date_is_sent() -> None:
    store, history, publisher = InMemorySyncStore(), _history(), RecordingPublisher()
    task = await store.start(ACCOUNT, min_date=None, max_date=MAX, owner="a")
    await _engine(history, store, publisher, "a").run(task)
    assert sorted(_sent(publisher)) == sorted(
        (c, m.id) for c, ms in history.chats.items() if c > 0 for m in ms if m.date < MAX
    )


async def test_start_sync_runs_in_the_background_and_holds_the_lock() -> None:
    store, history = InMemorySyncStore(), _history()
    gate = asyncio.Event()

    async def wait_for_gate(count: int) -> None:
        await gate.wait()

    publisher = RecordingPublisher(on_publish=wait_for_gate)
    options = {
        "store": store,
        "client": history,
        "publisher": publisher,
        "topic": TOPIC,
        "account_user_id": ACCOUNT,
        "min_date": MIN,
        "max_date": MAX,
    }
    task_id = await start_sync(**options)  # type: ignore[arg-type]
    with pytest.raises(SyncAlreadyRunning) as second:
        await start_sync(**options)  # type: ignore[arg-type]
    assert second.value.task_id == task_id

    gate.set()
    background = running_sync(task_id)
    assert background is not None
    assert await background is SyncState.SUCCEEDED
    assert Counter(_sent(publisher)) == Counter(_expected(history))
    with pytest.raises(SyncError, match="min date must be before"):
        await start_sync(**(options | {"min_date": MAX}))  # type: ignore[arg-type]
