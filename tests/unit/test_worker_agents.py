"""The worker's agents at the Faust level: the real app and agents (``create_worker_app``),
run with Faust's ``test_context`` over in-memory channels and the memory table store.

What is pinned here is the plumbing around the pure stages: batches, held table writes read by
later records of a batch, the hops between the three agents, the DLQ with the original bytes.
The same flows run against the real broker, RocksDB and a kill -9 in
``tests/integration/test_worker.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka.structs import RecordMetadata, TopicPartition
from pydantic import BaseModel

from chatsync.agents.app import create_worker_app
from chatsync.agents.normalise import BAD_RECORD, Outputs
from chatsync.normalise.deals import DealState
from chatsync.normalise.pipeline import MemoryNormaliser, NormalisedEvent
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo.scenario import demo_updates
from chatsync.settings import Settings
from chatsync.tables.state import TableState

# What the stages see as source coordinates of a record put into the resolve agent's test
# channel: Faust names a channel over two topics "<internal>", partition 0, offsets count the puts.
TEST_TOPIC = "<internal>"
WAIT_S = 30


def _raw_records() -> list[bytes]:
    return [botapi_envelope(u, describe_update(u), 42).to_bytes() for u in demo_updates()]


@dataclass
class Received:
    """What the agents sent to each output channel, in order."""

    by_channel: dict[str, list[faust.EventT[bytes]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def event_ids(self) -> list[str]:
        return [json.loads(e.value)["event_id"] for name in ("deals", "messages", "customers")
                for e in self.by_channel[name]]  # fmt: skip

    async def until(self, count: int) -> None:
        """Wait until ``count`` normalised events arrived (fails after WAIT_S)."""
        async with asyncio.timeout(WAIT_S):
            while len(self.event_ids()) < count:
                self.arrived.clear()
                await self.arrived.wait()


@dataclass
class Changelog:
    """The Kafka edge of the tables' changelog records (the app producer's ``send``):
    acknowledged at once, or held back until ``release`` while ``hold`` is set."""

    hold: bool = False
    offsets: Counter[TopicPartition] = field(default_factory=Counter)
    pending: list[tuple[asyncio.Future[Any], RecordMetadata]] = field(default_factory=list)

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None,
        timestamp: float | None, headers: Any,
    ) -> asyncio.Future[Any]:  # fmt: skip
        assert partition is not None
        tp = TopicPartition(topic, partition)
        metadata = RecordMetadata(topic, partition, tp, self.offsets[tp], -1, 0, 0)
        self.offsets[tp] += 1
        future = asyncio.get_running_loop().create_future()
        if self.hold:
            self.pending.append((future, metadata))
        else:
            future.set_result(metadata)
        return future

    def release(self) -> None:
        self.hold = False
        for future, metadata in self.pending:
            future.set_result(metadata)


@dataclass
class Worker:
    app: faust.App
    resolve: Any  # the resolve agent's test wrapper: put(value, key=...), processed_offset
    received: Received
    changelog: Changelog

    @property
    def put(self) -> Any:
        return self.resolve.put

    def state(self) -> TableState:
        return TableState({name: self.app.tables[name] for name in self.app.tables})


async def _collect(channel: faust.ChannelT[bytes], name: str, received: Received) -> None:
    async for event in channel:
        received.by_channel[name].append(event)
        received.arrived.set()


@pytest.fixture
async def worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Worker]:
    settings = Settings(_env_file=None, var_dir=tmp_path, worker_store="memory://",
                        kafka_bootstrap_servers="127.0.0.1:1", worker_batch_wait_ms=5)  # fmt: skip

    def channels(app: faust.App) -> Outputs:
        def channel() -> faust.ChannelT[bytes]:
            return app.channel(key_type=bytes, value_type=bytes, maxsize=100_000)

        return Outputs(deal_inputs=channel(), customer_inputs=channel(), deals=channel(),
                       messages=channel(), customers=channel(), dlq=channel())  # fmt: skip

    built: list[Outputs] = []

    def outputs_of(app: faust.App) -> Outputs:
        built.append(channels(app))
        return built[0]

    app = create_worker_app(settings, outputs=outputs_of)
    changelog = Changelog()  # no broker here
    monkeypatch.setattr(app.producer, "send", changelog.send)
    outputs = built[0]
    agents = {agent.name.rpartition(".")[2]: agent for agent in app.agents.values()}
    received = Received()
    collectors = [
        asyncio.create_task(_collect(getattr(outputs, name), name, received))
        for name in ("deals", "messages", "customers", "dlq")
    ]
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(agents["deals"].test_context(channel=outputs.deal_inputs))
        await stack.enter_async_context(
            agents["customers"].test_context(channel=outputs.customer_inputs)
        )
        resolve = await stack.enter_async_context(agents["resolve"].test_context())
        yield Worker(app=app, resolve=resolve, received=received, changelog=changelog)
    for task in collectors:
        task.cancel()
    _close_unstarted_thread_loops(app)


def _close_unstarted_thread_loops(app: faust.App) -> None:
    """Faust builds its Kafka consumer lazily, with a thread and an event loop of its own that a
    test context never starts; close that loop, or it leaks a socket pair."""
    consumer = getattr(app, "_consumer", None)
    thread = getattr(consumer, "_thread", None)
    loop = getattr(thread, "thread_loop", None)
    if isinstance(loop, asyncio.AbstractEventLoop) and not loop.is_running():
        loop.close()


def _reference(puts: list[bytes]) -> tuple[list[NormalisedEvent], MemoryNormaliser]:
    """The events the reference pipeline derives from what was put, in the order put."""
    normaliser = MemoryNormaliser()
    events: list[NormalisedEvent] = []
    for offset, record in enumerate(puts):
        with contextlib.suppress(*BAD_RECORD):
            events.extend(normaliser.process(record, TEST_TOPIC, 0, offset))
    return events, normaliser


async def _put_all(worker: Worker, records: list[bytes]) -> None:
    """Without waiting for each record: the agents take them in batches."""
    for record in records:
        await worker.put(record, key=b"bc", wait=False)


async def test_the_demo_feed_yields_the_reference_events_once_and_in_order_per_deal(
    worker: Worker,
) -> None:
    records = _raw_records()
    expected, reference = _reference(records)
    await _put_all(worker, records)
    await worker.received.until(len(expected))
    assert sorted(worker.received.event_ids()) == sorted(e.event_id for e in expected)
    for name, prefix in (("deals", "deal."), ("messages", "message.")):  # each topic in order
        assert _per_deal(worker.received.by_channel[name]) == _per_deal(
            [e for e in expected if e.event_type.startswith(prefix)]
        ), f"{name}: ordered per deal"
    state = worker.state()
    # A batch writes its tables after its events are out: wait for the last batch's writes.
    # Positions differ (the worker counts from 0, the reference from 1); the rest is the same.
    await _eventually(
        lambda: all(
            _unpositioned(state.deal(d)) == _unpositioned(deal)
            for d, deal in reference.deals.items()
        )
    )


def _unpositioned(deal: DealState | None) -> DealState | None:
    return deal and deal.model_copy(update={"input_position": None, "created_position": None})


async def test_a_bad_record_is_dead_lettered_with_its_bytes_and_the_stream_goes_on(
    worker: Worker,
) -> None:
    records = _raw_records()
    bad = b'{"schema_version": 1, "source": "botapi", "payload": "not an update"'
    puts = [records[0], bad, *records[1:]]
    expected, _ = _reference(puts)
    await _put_all(worker, puts)
    await worker.received.until(len(expected))
    (dead,) = worker.received.by_channel["dlq"]
    assert dead.value == bad
    headers = {key: value.decode() for key, value in dead.headers.items()}
    assert headers["dlq.stage"] == "normalise"
    assert "not a raw envelope" in headers["dlq.error"]
    assert sorted(worker.received.event_ids()) == sorted(e.event_id for e in expected)


async def test_a_redelivered_stream_emits_nothing_new(worker: Worker) -> None:
    records = _raw_records()
    expected, _ = _reference(records)
    await _put_all(worker, records)
    await worker.received.until(len(expected))
    await _put_all(worker, records)
    # A new message after the redelivery: once its events arrived, every record before it has
    # been through all three agents (each agent takes its channel in order).
    follower = _follower(records)
    more, _ = _reference([*records, *records, follower])
    await _put_all(worker, [follower])
    await worker.received.until(len(more))
    assert sorted(worker.received.event_ids()) == sorted(e.event_id for e in more)


async def test_a_batch_is_acknowledged_only_once_kafka_has_its_table_writes(
    worker: Worker,
) -> None:
    """Faust commits the offsets of acknowledged records, and its own wait for the changelog
    records before a commit gives up after 0.1 s: the agent must not acknowledge a batch before
    its table writes are in the changelog, or a worker killed then restores tables behind its
    committed offsets."""
    worker.changelog.hold = True
    await _put_all(worker, _raw_records()[:1])  # the Business connection: one table write
    await _eventually(lambda: bool(worker.changelog.pending))
    await asyncio.sleep(0.2)
    assert worker.resolve.processed_offset == 0, "acknowledged before its changelog record"
    worker.changelog.release()
    await _eventually(lambda: worker.resolve.processed_offset == 1)


async def _eventually(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT_S):
        while not check():  # noqa: ASYNC110 - Faust tables signal no writes
            await asyncio.sleep(0.01)


def _per_deal(events: list[faust.EventT[bytes]] | list[NormalisedEvent]) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = defaultdict(list)
    for event in events:
        data = event.model_dump() if isinstance(event, BaseModel) else json.loads(event.value)
        ids[data["deal_id"]].append(data["event_id"])
    return ids


def _follower(records: list[bytes]) -> bytes:
    """A copy of the feed's first new business message under a new message id and update id."""
    for record in records:
        envelope = json.loads(record)
        update = envelope["payload"]
        if "business_message" in update:
            update["update_id"] += 10_000_000
            update["business_message"]["message_id"] += 10_000_000
            return json.dumps(envelope).encode()
    raise AssertionError("the demo feed has business messages")


async def test_each_table_partition_notes_the_offset_of_its_last_changelog_record(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restarted worker reads a changelog from the offset its store noted (RocksDB keeps it):
    the worker notes it once Kafka acknowledged the records, as Faust does for the ones it
    sends itself."""
    noted: dict[TopicPartition, int] = {}
    for table in worker.app.tables.values():
        topic = table.changelog_topic.get_topic_name()

        def note(tp: Any, offset: int, topic: str = topic) -> None:
            noted[TopicPartition(topic, tp.partition)] = offset

        monkeypatch.setattr(table.data, "set_persisted_offset", note)
    records = _raw_records()
    expected, _ = _reference(records)
    await _put_all(worker, records)
    await worker.received.until(len(expected))
    last = worker.changelog.offsets
    await _eventually(lambda: noted == {tp: count - 1 for tp, count in last.items()})
    assert len(noted) >= 4, "every table wrote"
