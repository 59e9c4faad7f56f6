"""After the demo feed, PostgreSQL and DynamoDB hold exactly the deals, customers and messages the
normalised topics describe, and a full replay of the topics leaves them unchanged.

``chatsync run`` without Telegram credentials posts the demo feed through its webhook, and its
worker and sinks (child processes) normalise and store it, on topics and a DynamoDB table of this
test. The test reads ``chat.deals``, ``chat.customers`` and ``chat.messages`` back, folds them by
the published rules (the newest version of each deal and customer wins; a message keeps its
newest version, a delete is a soft-delete flag and every edit stays in its history) and compares
the result with the stores: every row of the feed's owners and users, every item. Then it replays
the three topics from the beginning into the sinks under fresh consumer groups and takes the
snapshots again: every column of every row (including ``stored_at`` and the row's ``xmin``, which
any UPDATE changes, even one that writes equal values) and every attribute of every item must be
as they were, and the DynamoDB sink must have written no item.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy import text

from chatsync.events import Event
from chatsync.identity import customer_id, deal_id
from chatsync.infra.dynamodb import PARTITION_KEY, SORT_KEY, Item, message_from_item, message_item
from chatsync.infra.sinks.dedupe import newest_per_key
from chatsync.infra.sinks.message_fold import MessageEvent, fold_message, group_messages
from chatsync.infra.sinks.rows import (
    CUSTOMER_COLUMNS,
    DEAL_COLUMNS,
    CustomerEvent,
    DealEvent,
    Row,
    customer_row,
    deal_row,
)
from chatsync.infra.sinks.visibility import visible_deal_ids
from chatsync.infra.stack.stack import Stack
from chatsync.producers.demo.scenario import demo_updates
from chatsync.producers.demo.shapes import JsonDict
from tests.conftest import ROOT, free_port
from tests.integration.test_sinks_harness import (
    SinkRun,
    TopicFactory,
    expected_items,
    observed,
    open_sink_run,
)
from tests.integration.worker_harness import WorkerRun
from tests.kafka_helpers import end_offsets, read_topic

pytestmark = pytest.mark.e2e
PARTITIONS = 4
SINK_GROUPS = ("chatsync-sink-postgres", "chatsync-sink-dynamodb")  # what `chatsync run` starts
_EVENTS: TypeAdapter[Event] = TypeAdapter(Event)
MessageKey = tuple[str, int]
Process = subprocess.Popen[bytes]


@dataclass(frozen=True)
class FeedScope:
    """What the feed can touch in the shared PostgreSQL tables: its owners' deals, the deals of
    its conversations, and every user it names (as a customer id)."""

    owners: list[int]
    deal_ids: list[str]
    customer_ids: list[str]

    @classmethod
    def of(cls, updates: list[JsonDict]) -> FeedScope:
        owner_of = {u["business_connection"]["id"]: u["business_connection"]["user"]["id"]
                    for u in updates if "business_connection" in u}  # fmt: skip
        deals = {deal_id(owner_of[m["business_connection_id"]], m["chat"]["id"])
                 for m in _conversation_parts(updates)}  # fmt: skip
        users = {customer_id(user) for user in _user_ids(updates)}
        return cls(sorted(set(owner_of.values())), sorted(deals), sorted(users))

    async def forget(self, sinks: SinkRun) -> None:
        """Delete the rows an earlier run of this fixed feed left, so that this run must write
        them all again."""
        async with sinks.engine.begin() as connection:
            for statement, ids in self._deletes():
                await connection.execute(text(statement), {"ids": ids})

    def _deletes(self) -> list[tuple[str, list[Any]]]:
        return [
            ("DELETE FROM deal_messages_stored WHERE deal_id = ANY(:ids)", self.deal_ids),
            ("DELETE FROM deal_messages_stored WHERE deal_id IN"
             " (SELECT id FROM deals WHERE owner_user_id = ANY(:ids))", self.owners),
            ("DELETE FROM deals WHERE owner_user_id = ANY(:ids)", self.owners),
            ("DELETE FROM customers WHERE id = ANY(:ids)", self.customer_ids),
        ]  # fmt: skip


def _conversation_parts(updates: list[JsonDict]) -> Iterator[JsonDict]:
    """The message-like part of each update of a conversation (new, edited, deleted)."""
    for update in updates:
        for kind in ("business_message", "edited_business_message", "deleted_business_messages"):
            if kind in update:
                yield update[kind]


def _user_ids(value: Any) -> Iterator[int]:
    """Every user or private chat the JSON names (objects with an ``id`` and a ``first_name``)."""
    if isinstance(value, dict):
        if isinstance(value.get("id"), int) and "first_name" in value:
            yield value["id"]
        for inner in value.values():
            yield from _user_ids(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _user_ids(inner)


@dataclass(frozen=True)
class Snapshot:
    """The stores as they are: every column of the feed's rows (plus ``xmin``, the transaction
    that last wrote the row, and the row as PostgreSQL's own JSON text), every item as DynamoDB
    returns it."""

    deals: dict[str, Row]
    customers: dict[str, Row]
    messages_stored: dict[str, Row]
    items: dict[MessageKey, Item]

    @classmethod
    async def take(cls, sinks: SinkRun, scope: FeedScope) -> Snapshot:
        return cls(
            deals=await _rows(sinks, "deals", "id", "owner_user_id", scope.owners),
            customers=await _rows(sinks, "customers", "id", "id", scope.customer_ids),
            messages_stored=await _rows(
                sinks, "deal_messages_stored", "deal_id", "deal_id", scope.deal_ids
            ),
            items={_item_key(item): item for item in await sinks.raw_items()},
        )


async def _rows(sinks: SinkRun, table: str, key: str, where: str, ids: list[Any]) -> dict[str, Row]:
    rows = await sinks.rows(
        f"SELECT t.*, t.xmin::text AS xmin, to_jsonb(t)::text AS as_json FROM {table} t"
        f" WHERE t.{where} = ANY(:ids)", ids=ids,
    )  # fmt: skip
    return {row[key]: row for row in rows}


def _item_key(item: Item) -> MessageKey:
    return item[PARTITION_KEY]["S"], int(item[SORT_KEY]["N"])


@dataclass(frozen=True)
class TopicState:
    """The normalised topics folded by the published rules: what the stores must hold."""

    deals: dict[str, Row]
    customers: dict[str, Row]
    items: dict[MessageKey, Item]
    messages: list[MessageEvent]

    @classmethod
    async def read(cls, sinks: SinkRun) -> TopicState:
        s, events = sinks.settings, []
        for topic in (s.topic_deals, s.topic_customers, s.topic_messages):
            records = await read_topic(s.kafka_bootstrap_servers, topic)
            events += [_EVENTS.validate_json(record.value) for record in records]
        deals = newest_per_key(
            [e for e in events if isinstance(e, DealEvent)],
            key=lambda e: e.data.deal_id, version=lambda e: e.data.version,
        )  # fmt: skip
        customers = newest_per_key(
            [e for e in events if isinstance(e, CustomerEvent)],
            key=lambda e: e.data.customer_id, version=lambda e: e.data.version,
        )  # fmt: skip
        messages = [e for e in events if isinstance(e, MessageEvent)]
        folded = {key: fold_message(None, found) for key, found in group_messages(messages).items()}
        return cls(
            deals={e.data.deal_id: deal_row(e) for e in deals},
            customers={e.data.customer_id: customer_row(e) for e in customers},
            items={key: message_item(item) for key, item in folded.items() if item is not None},
            messages=messages,
        )


async def test_the_stores_hold_what_the_topics_say_and_a_replay_changes_nothing(
    local_stack: Stack, topic_factory: TopicFactory
) -> None:
    feed = demo_updates()  # what `chatsync run` posts without TELEGRAM_BOT_TOKEN
    scope = FeedScope.of(feed)
    async with open_sink_run(local_stack.settings, topic_factory, PARTITIONS) as sinks:
        await scope.forget(sinks)
        worker = await _worker_run(sinks, topic_factory)
        async with chatsync_run(worker, sinks) as process:
            await _raw_records(worker, at_least=len(feed), process=process)
            await worker.drained()
            await sinks.groups_drained(_sink_groups(sinks), still_running=lambda: _alive(process))
        state, stored = await TopicState.read(sinks), await Snapshot.take(sinks, scope)
        _assert_the_stores_hold(state, stored)
        await _assert_visibility(sinks, state, stored)
        replayed, items_written = await _replay_into_fresh_groups(sinks, scope)
    assert items_written == 0, "the replay wrote no DynamoDB item"
    assert replayed.deals == stored.deals, "a replay leaves every deal row as it was"
    assert replayed.customers == stored.customers
    assert replayed.messages_stored == stored.messages_stored
    assert replayed.items == stored.items, "a replay leaves every item as it was"


async def _worker_run(sinks: SinkRun, topic_factory: TopicFactory) -> WorkerRun:
    """The worker's settings: raw topics of its own, the sinks' normalised topics."""
    raw = {name: await topic_factory(partitions=PARTITIONS)
           for name in ("topic_raw_botapi", "topic_raw_mtproto")}  # fmt: skip
    app_id = f"e2e-stores-{uuid.uuid4().hex[:8]}"
    update = {**raw, "worker_app_id": app_id, "kafka_topic_partitions": PARTITIONS}
    return WorkerRun(sinks.settings.model_copy(update=update))


@contextlib.asynccontextmanager
async def chatsync_run(worker: WorkerRun, sinks: SinkRun) -> AsyncIterator[Process]:
    """``chatsync run --demo-rate 0`` while the block runs, then SIGINT: it must exit cleanly."""
    log_path = ROOT / "var" / f"{worker.settings.worker_app_id}.log"
    env = {**worker.env, "API_PORT": str(free_port()), "LOG_LEVEL": "INFO",
           "DYNAMODB_MESSAGES_TABLE": sinks.settings.dynamodb_messages_table}  # fmt: skip
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_WEBHOOK_URL"):
        env.pop(name, None)
    command = [sys.executable, "-m", "chatsync", "run", "--demo-rate", "0"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once
            command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
    worker.processes.append(process)  # the worker's drained() fails at once if it dies
    try:
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        code = await asyncio.to_thread(_wait_or_kill, process)
    output = log_path.read_text()
    assert code == 0, f"chatsync run exited with {code}: see {log_path}"
    assert "Traceback" not in output, f"see {log_path}"


def _wait_or_kill(process: Process) -> int:
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def _alive(process: Process) -> None:
    assert process.poll() is None, "chatsync run exited early"


async def _raw_records(worker: WorkerRun, *, at_least: int, process: Process) -> None:
    """Wait until the webhook wrote ``at_least`` records to the raw Bot API topic."""
    servers, topic = worker.settings.kafka_bootstrap_servers, worker.settings.topic_raw_botapi
    for _ in range(240):  # a guard against a hang (2 minutes), not a measurement
        if sum((await end_offsets(servers, topic)).values()) >= at_least:
            return
        _alive(process)
        await asyncio.sleep(0.5)
    raise TimeoutError(f"the demo feed did not reach {topic}")


def _sink_groups(sinks: SinkRun) -> dict[str, tuple[str, ...]]:
    s = sinks.settings
    postgres, dynamodb = SINK_GROUPS
    return {postgres: (s.topic_deals, s.topic_customers), dynamodb: (s.topic_messages,)}


def _assert_the_stores_hold(state: TopicState, stored: Snapshot) -> None:
    assert state.deals, "the feed made deals"
    assert state.customers, "the feed made customers"
    assert state.items, "the feed made messages"
    assert _columns(stored.deals, DEAL_COLUMNS) == state.deals
    assert _columns(stored.customers, CUSTOMER_COLUMNS) == state.customers
    assert stored.items == state.items
    expected = expected_items(state.messages)  # the same rules, derived without the sink's fold
    assert observed([message_from_item(item) for item in stored.items.values()]) == expected
    assert any(deleted for _, deleted, _, _ in expected.values()), "soft deletes were exercised"
    assert any(replaced for _, _, _, replaced in expected.values()), "edit history was exercised"
    assert set(stored.messages_stored) == {event.deal_id for event in state.messages}


def _columns(rows: dict[str, Row], columns: tuple[str, ...]) -> dict[str, Row]:
    return {key: {name: row[name] for name in columns} for key, row in rows.items()}


async def _assert_visibility(sinks: SinkRun, state: TopicState, stored: Snapshot) -> None:
    """The API lists exactly the deals with a stored customer and a stored message."""
    expected = {
        deal
        for deal, row in state.deals.items()
        if row["customer_id"] in state.customers and deal in stored.messages_stored
    }
    async with sinks.engine.connect() as connection:
        assert await visible_deal_ids(connection, list(state.deals)) == expected


async def _replay_into_fresh_groups(sinks: SinkRun, scope: FeedScope) -> tuple[Snapshot, int]:
    """Every normalised topic again from its start, through the sinks under new consumer
    groups; the snapshot afterwards, and how many items the DynamoDB sink wrote."""
    async with sinks.running(group_prefix=f"test-replay-{uuid.uuid4().hex[:8]}-") as runners:
        await sinks.drained(runners)
    assert all(runner.metrics.records > 0 for runner in runners), "the replay read the topics"
    [dynamodb] = [runner for runner in runners if runner.sink.name == "dynamodb"]
    return await Snapshot.take(sinks, scope), dynamodb.metrics.rows
