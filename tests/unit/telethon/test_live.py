"""The live producer: ordered at-least-once publishing, reconnects, catch-up, flood waits."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from telethon import errors
from telethon.tl import types

from chatsync.producers.telethon.errors import NotAuthorized
from chatsync.producers.telethon.events import Scope
from chatsync.producers.telethon.health import HealthFile, LiveHealth, health_path
from chatsync.producers.telethon.ingest import LiveIngest
from chatsync.producers.telethon.live import LiveRunner
from tests.fakes.telethon import (
    ACCOUNT,
    DictIndex,
    FakeLiveConnection,
    RecordingPublisher,
    tl_message,
)

TOPIC = "tg.raw.mtproto"


def _ingest(
    publisher: RecordingPublisher, tmp_path: Path, index: DictIndex | None = None
) -> LiveIngest:
    return LiveIngest(
        publisher,
        topic=TOPIC,
        scope=Scope(ACCOUNT),
        index=index or DictIndex(),
        health=LiveHealth(account_user_id=ACCOUNT),
        first_backoff_s=0.001,
        health_file=HealthFile(health_path(tmp_path, ACCOUNT)),
    )


class Sleeps:
    def __init__(self, health: LiveHealth) -> None:
        self.health = health
        self.calls: list[tuple[float, bool]] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append((seconds, self.health.flood_wait_until is not None))


def _types(publisher: RecordingPublisher) -> list[tuple[str, int | None]]:
    return [(e.update_type, e.chat_id) for e in publisher.envelopes()]


async def test_items_are_published_in_order_and_deletes_find_their_chat(tmp_path: Path) -> None:
    publisher, index = RecordingPublisher(), DictIndex()
    ingest = _ingest(publisher, tmp_path, index)
    for update_type, obj in [
        ("new_message", tl_message(10, 42)),
        ("new_message", tl_message(11, 43, out=True)),
        ("message_edited", tl_message(10, 42, text="fixed")),
        ("message_deleted", types.UpdateDeleteMessages(messages=[10, 11, 5], pts=9, pts_count=3)),
        ("message_read", types.UpdateReadHistoryOutbox(types.PeerUser(43), 11, 10, 1)),
        ("user_update", types.UpdateUser(user_id=42)),
        ("new_message", tl_message(12, types.PeerChannel(8))),  # out of scope: nothing
    ]:
        await ingest.submit(update_type, obj)  # type: ignore[arg-type]
    assert not ingest.settled

    worker = _spawn(ingest)
    assert await ingest.close(grace_s=60)
    await worker

    assert _types(publisher) == [
        ("new_message", 42),
        ("new_message", 43),
        ("message_edited", 42),
        ("message_deleted", 42),
        ("message_deleted", 43),
        ("message_deleted", None),
        ("message_read", 43),
        ("user_update", 42),
    ]
    assert index.pairs == {10: 42, 11: 43}
    assert ingest.health.published == 8
    assert ingest.settled


async def test_a_kafka_outage_holds_the_session_state_back_until_published(
    tmp_path: Path,
) -> None:
    seen_while_publishing: list[bool] = []
    publisher = RecordingPublisher(failures=3)
    ingest = _ingest(publisher, tmp_path)

    async def observe(count: int) -> None:
        seen_while_publishing.append(ingest.settled)

    publisher.on_publish = observe
    await ingest.submit("new_message", tl_message(10, 42))
    worker = _spawn(ingest)
    assert await ingest.close(grace_s=60)
    await worker

    assert seen_while_publishing == [False]
    assert publisher.attempts == 4
    assert len(publisher.records) == 1
    assert ingest.health.last_error == "Kafka: broker down"


async def test_stopping_during_an_outage_reports_updates_left_unpublished(tmp_path: Path) -> None:
    publisher = RecordingPublisher(failures=10**9)
    ingest = _ingest(publisher, tmp_path)
    await ingest.submit("new_message", tl_message(10, 42))
    await ingest.submit("new_message", tl_message(11, 42))
    worker = _spawn(ingest)

    assert not await ingest.close(grace_s=0.01)
    await worker
    assert not ingest.settled
    assert publisher.records == []


async def test_the_runner_reconnects_catches_up_and_obeys_flood_waits(tmp_path: Path) -> None:
    publisher = RecordingPublisher()
    ingest = _ingest(publisher, tmp_path)
    missed = [("new_message", tl_message(20, 42)), ("new_message", tl_message(21, 42))]
    connection = FakeLiveConnection(
        plan=[OSError("network down"), errors.FloodWaitError(None, capture=7), None, None],
        sink=ingest,
        missed=missed,
    )
    sleeps = Sleeps(ingest.health)
    runner = LiveRunner(
        connection,
        ingest,
        HealthFile(health_path(tmp_path, ACCOUNT)),
        first_backoff_s=2.0,
        sleep=sleeps,
    )
    connection.on_last = runner.stop

    assert await runner.run()

    assert sleeps.calls == [(2.0, False), (7, True)]
    assert connection.log == [
        "connect",
        "disconnect",
        "connect",
        "disconnect",
        "connect",
        "catch_up",
        "dropped",
        "disconnect",
        "connect",
        "catch_up",
        "disconnect",
    ]
    assert _types(publisher) == [("new_message", 42), ("new_message", 42)]
    health = json.loads(health_path(tmp_path, ACCOUNT).read_text())
    assert health["connected"] is False
    assert health["reconnects"] == 3
    assert health["account_user_id"] == ACCOUNT
    assert health["published"] == 2
    assert health["flood_wait_until"] is None
    assert health["last_update_at"].endswith("Z")
    assert health["last_error"] == "flood wait of 7 s"


async def test_a_session_that_is_not_signed_in_ends_the_run(tmp_path: Path) -> None:
    ingest = _ingest(RecordingPublisher(), tmp_path)
    connection = FakeLiveConnection(plan=[errors.AuthKeyUnregisteredError(None)])
    runner = LiveRunner(connection, ingest, HealthFile(None))
    with pytest.raises(NotAuthorized, match="telethon login"):
        await runner.run()


def _spawn(ingest: LiveIngest) -> asyncio.Task[None]:
    return asyncio.create_task(ingest.run())
