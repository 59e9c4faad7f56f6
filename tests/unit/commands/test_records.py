"""The consumer loop's at-least-once rules over a fake consumer, and the two record handlers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import TopicPartition

from chatsync.agents.commands.avatars import AvatarHandler
from chatsync.agents.commands.config import RetryPolicy
from chatsync.agents.commands.consumer import Record, RecordLoop
from chatsync.agents.commands.edges import Edges
from chatsync.agents.commands.errors import StoreUnavailable, TelegramUnavailable
from chatsync.agents.commands.executor import Executor
from chatsync.agents.commands.models import FetchAvatar, decode_command, encode_command
from chatsync.agents.commands.reads import RawTopics, ReadHandler
from chatsync.agents.commands.records import AvatarRequests, CommandRecords, DeadLetters
from chatsync.agents.commands.requests import avatar_command
from chatsync.events import CustomerCreated, CustomerData, DealData, DealUpdated, EventSource
from chatsync.producers.errors import PublishUnavailable
from tests.fakes.telethon import RecordingPublisher
from tests.unit.commands.fakes import (
    FakeRecord,
    HeadersPublisher,
    MemoryAvatarStore,
    MemoryCustomers,
    MemoryDeals,
    ScriptedEdge,
    Sleeps,
)

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
SOURCE = EventSource(topic="tg.raw.botapi", partition=0, offset=1, kind="botapi")


@dataclass
class FakeConsumer:
    """A consumer of scripted partitions: getmany serves from each position; when everything was
    served, ``idle`` runs (the test stops the loop there)."""

    partitions: dict[TopicPartition, list[FakeRecord]]
    positions: dict[TopicPartition, int] = field(default_factory=dict)
    commits: list[dict[TopicPartition, int]] = field(default_factory=list)
    seeks: list[tuple[TopicPartition, int]] = field(default_factory=list)
    idle: Any = None
    started: bool = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.started = False

    async def getmany(self, timeout_ms: int = 0) -> dict[TopicPartition, list[FakeRecord]]:
        batch = {}
        for tp, records in self.partitions.items():
            rest = records[self.positions.get(tp, 0) :]
            if rest:
                batch[tp] = rest[:2]
                self.positions[tp] = rest[:2][-1].offset + 1
        if not batch:
            self.idle()
        return batch

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))
        self.positions[tp] = offset

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))


def _partition(topic: str, partition: int, count: int) -> list[FakeRecord]:
    return [FakeRecord(f"{partition}:{i}".encode(), topic=topic, partition=partition, offset=i)
            for i in range(count)]  # fmt: skip


def _loop(consumer: FakeConsumer, handle: Any, sleeps: Sleeps) -> RecordLoop:
    loop = RecordLoop(consumer, handle, backoff=RetryPolicy(base_s=1, max_s=8), sleep=sleeps)
    consumer.idle = loop.stop
    return loop


async def test_every_record_is_handled_in_partition_order_and_committed() -> None:
    a, b = TopicPartition("c", 0), TopicPartition("c", 1)
    consumer = FakeConsumer({a: _partition("c", 0, 3), b: _partition("c", 1, 2)})
    seen: list[bytes] = []

    async def handle(record: Record) -> None:
        seen.append(record.value)

    await _loop(consumer, handle, Sleeps()).run()
    assert [v for v in seen if v.startswith(b"0:")] == [b"0:0", b"0:1", b"0:2"]
    assert len(seen) == 5
    assert consumer.commits[-1] == {a: 3}
    assert {a: 2, b: 2} in consumer.commits
    assert not consumer.started, "stopped at the end"


@pytest.mark.parametrize("outage", [StoreUnavailable("S3 down"), PublishUnavailable("no Kafka")])
async def test_an_outage_stops_the_partition_at_its_record_until_it_can_be_handled(
    outage: Exception,
) -> None:
    tp = TopicPartition("c", 0)
    consumer = FakeConsumer({tp: _partition("c", 0, 4)})
    failures, seen, sleeps = [outage, outage], [], Sleeps()

    async def handle(record: Record) -> None:
        if record.offset == 1 and failures:
            raise failures.pop()
        seen.append(record.offset)

    await _loop(consumer, handle, sleeps).run()
    assert seen == [0, 1, 2, 3]
    assert consumer.seeks == [(tp, 1), (tp, 1)]
    assert consumer.commits == [{tp: 1}, {tp: 3}, {tp: 4}], "nothing past the failed record"
    assert sleeps.calls == [1, 2], "backing off while the outage lasts"


async def test_a_bug_stops_the_loop_uncommitted() -> None:
    tp = TopicPartition("c", 0)
    consumer = FakeConsumer({tp: _partition("c", 0, 2)})

    async def handle(record: Record) -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        await _loop(consumer, handle, Sleeps()).run()
    assert consumer.commits == []
    assert not consumer.started


async def test_stop_lets_the_record_in_hand_finish_and_commits_only_what_was_handled() -> None:
    tp = TopicPartition("c", 0)
    consumer = FakeConsumer({tp: _partition("c", 0, 2)})
    seen: list[int] = []
    loops: list[RecordLoop] = []

    async def handle(record: Record) -> None:
        seen.append(record.offset)
        loops[0].stop()  # SIGTERM while the first record is being handled

    loops.append(_loop(consumer, handle, Sleeps()))
    await loops[0].run()
    assert seen == [0]
    assert consumer.commits == [{tp: 1}]


async def test_stop_ends_the_pause_after_an_outage() -> None:
    tp = TopicPartition("c", 0)
    consumer = FakeConsumer({tp: _partition("c", 0, 1)})
    loops: list[RecordLoop] = []

    async def handle(record: Record) -> None:
        loops[0].stop()
        raise StoreUnavailable("PostgreSQL down")

    async def never(seconds: float) -> None:
        await asyncio.Event().wait()

    loop = RecordLoop(consumer, handle, backoff=RetryPolicy(), sleep=never)
    loops.append(loop)
    await loop.run()
    assert consumer.commits == []


def _executor(edge: ScriptedEdge, publisher: RecordingPublisher) -> Executor:
    customers = MemoryCustomers()
    customers.add("tg_5")
    edges = Edges(edge, {})
    return Executor(
        AvatarHandler(edges, MemoryAvatarStore(), customers),
        ReadHandler(edges, MemoryDeals(), publisher, RawTopics("rb", "rm"), bot_id=None),
        RetryPolicy(max_attempts=2), sleep=Sleeps(),
    )  # fmt: skip


def _customer_event() -> CustomerCreated:
    data = CustomerData(customer_id="tg_5", user_id=5, version=1)
    return CustomerCreated(event_id="e-1", occurred_at=T0, deal_id="deal_x", owner_user_id=1,
                           source=SOURCE, data=data)  # fmt: skip


async def test_a_done_command_leaves_nothing_in_the_dlq() -> None:
    publisher = RecordingPublisher()
    records = CommandRecords(_executor(ScriptedEdge(photos={5: b"x"}), publisher),
                             DeadLetters(publisher, "dlq"))  # fmt: skip
    await records(FakeRecord(encode_command(avatar_command(_customer_event()))))
    assert publisher.records == []


async def test_a_given_up_command_is_kept_in_the_dlq_with_its_reason() -> None:
    publisher = RecordingPublisher()
    edge = ScriptedEdge(errors=[TelegramUnavailable("502"), TelegramUnavailable("502")])
    records = CommandRecords(_executor(edge, publisher), DeadLetters(publisher, "dlq"))
    value = encode_command(avatar_command(_customer_event()))
    await records(FakeRecord(value, key=b"tg_5", offset=41))
    [dead] = publisher.records
    assert (dead.topic, dead.key, dead.value) == ("dlq", b"tg_5", value)


async def test_a_record_that_is_no_command_goes_to_the_dlq() -> None:
    publisher = HeadersPublisher()
    records = CommandRecords(_executor(ScriptedEdge(), publisher), DeadLetters(publisher, "dlq"))
    await records(FakeRecord(b"{garbage", key=b"k", offset=7))
    [dead] = publisher.records
    assert (dead.topic, dead.key, dead.value) == ("dlq", b"k", b"{garbage")
    [headers] = publisher.headers
    assert (headers["dlq.stage"], headers["dlq.source.offset"]) == (b"commands", b"7")
    assert b"not a command" in headers["dlq.error"]


async def test_customer_events_become_fetch_avatar_commands() -> None:
    publisher = RecordingPublisher()
    requests = AvatarRequests(publisher, "cmds", DeadLetters(publisher, "dlq"))
    event = _customer_event()
    await requests(FakeRecord(event.model_dump_json().encode(), topic="chat.customers"))
    [record] = publisher.records
    assert (record.topic, record.key) == ("cmds", b"tg_5")
    command = decode_command(record.value)
    assert isinstance(command, FetchAvatar)
    assert command.command_id == record.dedupe_key == avatar_command(event).command_id


async def test_other_records_of_the_customers_topic_ask_for_nothing() -> None:
    publisher = RecordingPublisher()
    requests = AvatarRequests(publisher, "cmds", DeadLetters(publisher, "dlq"))
    data = DealData(deal_id="d", owner_user_id=1, customer_id="tg_5", chat_id=5, source="botapi",
                    message_count=1, unread_count=0, created_at=T0, updated_at=T0,
                    version=1)  # fmt: skip
    deal = DealUpdated(event_id="e", occurred_at=T0, deal_id="d", owner_user_id=1, source=SOURCE,
                       data=data)  # fmt: skip
    await requests(FakeRecord(deal.model_dump_json().encode()))
    assert publisher.records == []
    await requests(FakeRecord(b"[]"))
    [dead] = publisher.records
    assert (dead.topic, dead.value) == ("dlq", b"[]")
