"""The polling loop: offsets confirmed only after Kafka, resume without loss or repeat."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from chatsync.dlq import Headers
from chatsync.envelopes import RawEnvelope
from chatsync.errors import ChatsyncError
from chatsync.producers.botapi.client import make_bot
from chatsync.producers.botapi.ingest import BotApiIngest
from chatsync.producers.botapi.polling import AiogramFeed, OffsetFile, PollingProducer
from chatsync.producers.errors import PublishUnavailable
from tests.fakes.telegram import FakeBotApi, FakeUpdateQueue, error

TOKEN = "7000000001:AAE-test-token-not-real-0123456789abcdef"


def _update(update_id: int, chat_id: int = 42) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "business_message": {
            "message_id": update_id, "business_connection_id": "bc-1", "date": 1763700000,
            "chat": {"id": chat_id, "type": "private", "first_name": "Ada"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ada"},
            "text": f"hi {update_id}",
        },
    }  # fmt: skip


class _Crash(Exception):
    pass


class RecordingPublisher:
    """In-process Publisher: keeps records, fails the first ``failures`` calls, and crashes the
    process (an exception no loop handles) once it holds ``crash_after`` records."""

    def __init__(self, failures: int = 0, crash_after: int | None = None) -> None:
        self.records: list[tuple[str, bytes | None, bytes]] = []
        self.failures, self.crash_after = failures, crash_after

    async def publish(
        self, topic: str, key: bytes | None, value: bytes, *, headers: Headers | None = None,
        dedupe_key: str | None = None,
    ) -> None:  # fmt: skip
        if self.failures:
            self.failures -= 1
            raise PublishUnavailable("broker down")
        if self.crash_after is not None and len(self.records) >= self.crash_after:
            self.crash_after = None
            raise _Crash
        self.records.append((topic, key, value))

    def update_ids(self, topic: str = "raw") -> list[int]:
        return [RawEnvelope.from_bytes(v).update_id or 0 for t, _, v in self.records if t == topic]


def _producer(
    queue: FakeUpdateQueue, publisher: RecordingPublisher, offsets: OffsetFile
) -> tuple[PollingProducer, FakeBotApi]:
    session = FakeBotApi(queue)
    bot, raw = make_bot(TOKEN, session)
    ingest = BotApiIngest(publisher, raw_topic="raw", dlq_topic="dlq", bot_id=7000000001,
                          stage="polling")  # fmt: skip
    producer = PollingProducer(AiogramFeed(bot, raw), ingest, offsets, retry_after_s=0.001)
    return producer, session


async def _run_until(producer: PollingProducer, published: int) -> None:
    task = asyncio.create_task(producer.run(long_poll_s=0))
    for _ in range(500):
        if producer.published >= published:
            break
        await asyncio.sleep(0.01)
    producer.stop()
    await asyncio.wait_for(task, 5)


async def test_offsets_confirm_only_what_kafka_acknowledged(tmp_path: Path) -> None:
    queue = FakeUpdateQueue([_update(i) for i in range(100, 107)])
    publisher, offsets = RecordingPublisher(), OffsetFile(tmp_path / "bot.offset")
    producer, session = _producer(queue, publisher, offsets)
    await _run_until(producer, 7)
    assert publisher.update_ids() == list(range(100, 107))
    assert offsets.load() == 106
    requested = [params.get("offset") for _, params in session.calls]
    assert requested[0] is None
    assert requested[1:3] == [103, 106]  # batches of 3: each call confirms the previous batch
    assert session.calls[0][1]["allowed_updates"] == [
        "business_connection", "business_message", "edited_business_message",
        "deleted_business_messages",
    ]  # fmt: skip


async def test_restart_resumes_after_the_last_published_update(tmp_path: Path) -> None:
    updates = [_update(i) for i in range(1, 11)]
    queue = FakeUpdateQueue(updates)
    publisher = RecordingPublisher(crash_after=4)
    offsets = OffsetFile(tmp_path / "bot.offset")
    first, _ = _producer(queue, publisher, offsets)
    with pytest.raises(_Crash):  # dies in the middle of a batch
        await first.run(long_poll_s=0)
    assert publisher.update_ids() == [1, 2, 3, 4]
    assert queue.pending[0]["update_id"] <= 5, "Telegram still holds the unconfirmed updates"
    second, session = _producer(queue, publisher, offsets)
    await _run_until(second, 6)
    assert publisher.update_ids() == list(range(1, 11)), "nothing lost, nothing twice"
    assert session.calls[0][1]["offset"] == 5


async def test_kafka_outage_retries_the_same_update_without_skipping(tmp_path: Path) -> None:
    queue = FakeUpdateQueue([_update(i) for i in range(1, 5)])
    publisher, offsets = RecordingPublisher(failures=3), OffsetFile(tmp_path / "bot.offset")
    producer, _ = _producer(queue, publisher, offsets)
    await _run_until(producer, 4)
    assert publisher.update_ids() == [1, 2, 3, 4]


async def test_update_aiogram_cannot_model_is_still_fetched_and_dead_lettered(
    tmp_path: Path,
) -> None:
    broken = _update(5)
    del broken["business_message"]["chat"]
    queue = FakeUpdateQueue([_update(4), copy.deepcopy(broken), _update(6)])
    publisher, offsets = RecordingPublisher(), OffsetFile(tmp_path / "bot.offset")
    producer, _ = _producer(queue, publisher, offsets)
    await _run_until(producer, 3)
    assert publisher.update_ids() == [4, 6]
    [(_, _, value)] = [r for r in publisher.records if r[0] == "dlq"]
    assert json.loads(value) == broken


async def test_a_webhook_in_place_stops_polling_with_a_clear_error(tmp_path: Path) -> None:
    session = FakeBotApi(lambda name, params: error(409, "Conflict: can't use getUpdates method "
                                                         "while webhook is active"))  # fmt: skip
    bot, raw = make_bot(TOKEN, session)
    ingest = BotApiIngest(RecordingPublisher(), raw_topic="raw", dlq_topic="dlq", bot_id=1,
                          stage="polling")  # fmt: skip
    producer = PollingProducer(AiogramFeed(bot, raw), ingest, OffsetFile(tmp_path / "o"))
    with pytest.raises(ChatsyncError, match="webhook delete"):
        await producer.run(long_poll_s=0)


def test_offset_file_survives_garbage(tmp_path: Path) -> None:
    offsets = OffsetFile(tmp_path / "nested" / "bot.offset")
    assert offsets.load() is None
    offsets.save(41)
    assert offsets.load() == 41
    offsets.path.write_text("garbage")
    assert offsets.load() is None
