"""The SyncStore contract, in memory (its leases follow a fake clock)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from chatsync.producers.telethon.memstore import InMemorySyncStore
from tests.unit.telethon.sync_store_contract import Expire, SyncStoreContract

_accounts = itertools.count(1_000)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> InMemorySyncStore:
    return InMemorySyncStore(clock=clock)


@pytest.fixture
def expire(store: InMemorySyncStore, clock: Clock) -> Expire:
    async def run_out(task_id: str) -> None:
        clock.now += store.lease + timedelta(seconds=1)

    return run_out


@pytest.fixture
def account() -> int:
    return next(_accounts) * 10


class TestInMemorySyncStore(SyncStoreContract):
    pass
