"""History sync against the real PostgreSQL and Kafka: lock, leases, checkpoints, exactly once."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsync.dlq import Headers
from chatsync.envelopes import RawEnvelope
from chatsync.infra.db import create_engine
from chatsync.infra.postgres.sync_tasks import PostgresSyncStore
from chatsync.infra.stack.stack import Stack
from chatsync.producers.publisher import Publisher, RawPublisher
from chatsync.producers.telethon.backfill import BackfillEngine
from chatsync.producers.telethon.errors import SyncAlreadyRunning
from chatsync.producers.telethon.events import Scope
from chatsync.producers.telethon.synctasks import SyncState
from tests.fakes.telethon import Crash, FakeHistory, at, tl_message
from tests.kafka_helpers import read_topic
from tests.unit.telethon.sync_store_contract import Expire, SyncStoreContract

pytestmark = pytest.mark.integration


@pytest.fixture
async def database(local_stack: Stack) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(local_stack.settings, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
def store(database: AsyncEngine) -> PostgresSyncStore:
    return PostgresSyncStore(database)


@pytest.fixture
def expire(database: AsyncEngine) -> Expire:
    """The owner died long ago: its lease is over."""

    async def run_out(task_id: str) -> None:
        async with database.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE sync_tasks SET lease_until = now() - interval '1 second'"
                    " WHERE id = CAST(:id AS uuid)"
                ),
                {"id": task_id},
            )

    return run_out


@pytest.fixture
def account() -> int:
    return random.randrange(10**9, 2 * 10**9) * 10  # apart from every other test's accounts


class TestPostgresSyncStore(SyncStoreContract):
    """The same contract as the in-memory store."""


async def test_the_lock_holds_across_processes_and_checkpoints_survive(
    local_stack: Stack, store: PostgresSyncStore, account: int
) -> None:
    other_host = create_engine(local_stack.settings, pool_size=1)
    try:
        elsewhere = PostgresSyncStore(other_host)
        task = await store.start(account, min_date=None, max_date=at(50), owner="host-a")
        await store.checkpoint(task.id, "host-a", chat_id=42, message_id=1048)
        with pytest.raises(SyncAlreadyRunning) as refused:
            await elsewhere.start(account, min_date=None, max_date=at(50), owner="host-b")
        assert refused.value.task_id == task.id
        assert (await elsewhere.progress(task.id))[42].last_message_id == 1048
    finally:
        await other_host.dispose()


class CrashingPublisher:
    """The real publisher, until the process "dies" after ``crash_after`` records."""

    def __init__(self, inner: Publisher, crash_after: int) -> None:
        self.inner, self.left = inner, crash_after

    async def publish(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        *,
        headers: Headers | None = None,
        dedupe_key: str | None = None,
    ) -> None:
        if self.left == 0:
            raise Crash
        self.left -= 1
        await self.inner.publish(topic, key, value, headers=headers, dedupe_key=dedupe_key)


async def test_a_backfill_crashed_and_resumed_writes_each_message_once(
    local_stack: Stack,
    store: PostgresSyncStore,
    account: int,
    expire: Expire,
    topic_factory: Callable[..., Awaitable[str]],
) -> None:
    topic = await topic_factory(partitions=3)
    history = FakeHistory(
        {
            42: [tl_message(1000 + h, 42, hours=h) for h in range(0, 60, 2)],
            43: [tl_message(1000 + h, 43, hours=h, out=True) for h in range(1, 60, 2)],
            44: [tl_message(3000 + h, 44, hours=h) for h in range(5, 45, 5)],
        }
    )
    history.flood_before[(43, 1025)] = 1
    expected = Counter(
        (c, m.id) for c, ms in history.chats.items() for m in ms if at(10) <= m.date < at(50)
    )
    settings = local_stack.settings
    publisher = RawPublisher(settings.kafka_bootstrap_servers, ack_timeout_s=10, client_id="t")
    await publisher.start()
    scope = Scope(account)

    async def no_wait(seconds: float) -> None:
        await asyncio.sleep(0)

    try:
        task = await store.start(account, min_date=at(10), max_date=at(50), owner="host-a")
        first = BackfillEngine(
            history,
            store,
            CrashingPublisher(publisher, 13),
            topic=topic,
            scope=scope,
            owner="host-a",
            sleep=no_wait,
        )
        with pytest.raises(Crash):
            await first.run(task)
        await expire(task.id)
        resumed = await store.start(account, min_date=None, max_date=at(99), owner="host-b")
        assert (resumed.id, resumed.max_date) == (task.id, at(50))
        second = BackfillEngine(
            history, store, publisher, topic=topic, scope=scope, owner="host-b", sleep=no_wait
        )
        assert await second.run(resumed) is SyncState.SUCCEEDED
    finally:
        await publisher.stop()

    records = await read_topic(
        settings.kafka_bootstrap_servers, topic, at_least=sum(expected.values())
    )
    envelopes = [RawEnvelope.from_bytes(r.value) for r in records]
    assert Counter((e.chat_id, e.payload["id"]) for e in envelopes) == expected
    assert {e.source for e in envelopes} == {"backfill"}
    assert {r.key for r in records} == {f"acct:{account}:chat:{c}".encode() for c in (42, 43, 44)}
    for chat in (42, 43, 44):
        ids = [e.payload["id"] for e in envelopes if e.chat_id == chat]  # one partition each
        assert ids == sorted(ids, reverse=True)
    status = await store.get(task.id)
    assert status is not None
    assert (status.state, status.dialogs_done, status.dialogs_total) == (SyncState.SUCCEEDED, 3, 3)
    assert status.messages_sent == sum(expected.values())
    assert status.finished_at is not None
