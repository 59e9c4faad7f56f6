"""The PostgreSQL sink on the real stack: version-guarded upserts, replay, the fully-synced rule."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from chatsync.events import CustomerCreated, CustomerUpdated, DealCreated, DealUpdated
from chatsync.infra.sinks.visibility import visible_deal_ids, visible_deals
from chatsync.infra.stack.stack import Stack
from tests.integration.test_sinks_harness import SinkRun, TopicFactory, demo_events, open_sink_run
from tests.unit.sinks.factories import at, customer_event, deal_event, message_data

pytestmark = pytest.mark.integration
DEALS = "SELECT xmin::text AS xmin, * FROM deals WHERE id = ANY(:ids) ORDER BY id"
CUSTOMERS = "SELECT xmin::text AS xmin, * FROM customers WHERE id = ANY(:ids) ORDER BY id"


@pytest.fixture
async def run(local_stack: Stack, topic_factory: TopicFactory) -> AsyncIterator[SinkRun]:
    async with open_sink_run(local_stack.settings, topic_factory) as sink_run:
        yield sink_run


async def test_an_older_event_never_overwrites_a_newer_row(run: SinkRun) -> None:
    user_id = uuid.uuid4().int % 10**12
    deal, customer = f"deal_{uuid.uuid4().hex}", f"tg_{user_id}"
    versions = [deal_event(v, deal=deal, customer=customer) for v in (1, 3, 2)]
    profiles = [customer_event(v, user_id=user_id, first_name=f"v{v}") for v in (2, 1)]
    await run.produce([*versions, *profiles])
    async with run.running(only=["postgres"]) as runners:
        await run.drained(runners)
        [deal_row] = await run.rows(DEALS, ids=[deal])
        [customer_row] = await run.rows(CUSTOMERS, ids=[customer])
        assert (deal_row["version"], deal_row["message_count"]) == (3, 3)
        assert deal_row["updated_at"] == deal_row["activity_at"] == at(3)
        assert (customer_row["version"], customer_row["first_name"]) == (2, "v2")

        await run.produce([versions[2], versions[0], profiles[1]])  # late, in a later batch
        await run.drained(runners)
        assert await run.rows(DEALS, ids=[deal]) == [deal_row], "not even rewritten (xmin)"
        assert await run.rows(CUSTOMERS, ids=[customer]) == [customer_row]


async def test_the_upsert_leaves_the_avatar_columns_alone(run: SinkRun) -> None:
    user_id = uuid.uuid4().int % 10**12
    await run.produce([customer_event(1, user_id=user_id)])
    async with run.running(only=["postgres"]) as runners:
        await run.drained(runners)
        async with run.engine.begin() as connection:
            await connection.exec_driver_sql(
                "UPDATE customers SET avatar_key = 'avatars/x.jpg', avatar_checked_at = now() "
                f"WHERE id = 'tg_{user_id}'"
            )
        await run.produce([customer_event(2, user_id=user_id, first_name="Renamed")])
        await run.drained(runners)
    [row] = await run.rows(CUSTOMERS, ids=[f"tg_{user_id}"])
    assert (row["first_name"], row["version"]) == ("Renamed", 2)
    assert row["avatar_key"] == "avatars/x.jpg"
    assert row["avatar_checked_at"] is not None


async def test_a_nul_in_a_name_or_text_is_stored_not_refused(run: SinkRun) -> None:
    """PostgreSQL text and jsonb cannot hold U+0000: the row carries U+FFFD instead."""
    user_id = uuid.uuid4().int % 10**12
    deal, customer = f"deal_{uuid.uuid4().hex}", f"tg_{user_id}"
    last = message_data(1, 1, "a\x00b")
    await run.produce([
        deal_event(1, deal=deal, customer=customer, last=last),
        customer_event(1, user_id=user_id, first_name="Ad\x00a"),
    ])  # fmt: skip
    async with run.running(only=["postgres"]) as runners:
        await run.drained(runners)
    [deal_row] = await run.rows(DEALS, ids=[deal])
    [customer_row] = await run.rows(CUSTOMERS, ids=[customer])
    assert deal_row["last_message"]["text"] == "a\ufffdb"
    assert customer_row["first_name"] == "Ad\ufffda"


async def _snapshot(run: SinkRun, deal_ids: list[str], customer_ids: list[str]) -> Any:
    return (
        await run.rows(DEALS, ids=deal_ids),
        await run.rows(CUSTOMERS, ids=customer_ids),
        await run.rows("SELECT * FROM deal_messages_stored ORDER BY deal_id"),
        await run.rows("SELECT xmin::text AS xmin, * FROM deals ORDER BY id"),
        await run.rows("SELECT xmin::text AS xmin, * FROM customers ORDER BY id"),
        sorted(await run.items(), key=lambda item: (item.deal_id, item.message_id)),
    )


async def test_a_replay_of_every_topic_changes_no_row_and_no_item(run: SinkRun) -> None:
    events = demo_events()
    await run.produce(events)
    async with run.running() as runners:
        await run.drained(runners)
    deals = sorted({e.deal_id for e in events if isinstance(e, DealCreated | DealUpdated)})
    customers = sorted({e.data.customer_id for e in events
                        if isinstance(e, CustomerCreated | CustomerUpdated)})  # fmt: skip
    before = await _snapshot(run, deals, customers)
    newest = {e.deal_id: e.data.version for e in events if isinstance(e, DealCreated | DealUpdated)}
    assert {row["id"]: row["version"] for row in before[0]} == newest
    assert len(before[1]) == len(customers)

    async with run.running() as replay:  # a new consumer group: every topic from the beginning
        await run.drained(replay)
        assert {r.sink.name: r.metrics.records for r in replay} == {
            "postgres": sum(not e.event_type.startswith("message.") for e in events),
            "dynamodb": sum(e.event_type.startswith("message.") for e in events),
        }
        assert [r.metrics.rows for r in replay if r.sink.name == "dynamodb"] == [0]
    assert await _snapshot(run, deals, customers) == before


async def test_a_deal_is_visible_once_its_customer_and_a_stored_message_exist(run: SinkRun) -> None:
    events = demo_events()
    customer_of = {e.deal_id: e.data.customer_id for e in events
                   if isinstance(e, DealCreated | DealUpdated)}  # fmt: skip
    b, *others = sorted(customer_of)
    withheld_customer = customer_of[b]
    a, c = [deal for deal in others if customer_of[deal] != withheld_customer][:2]
    first = [
        e for e in events
        if not (isinstance(e, CustomerCreated | CustomerUpdated)
                and e.data.customer_id == withheld_customer)
        and not (e.event_type.startswith("message.") and e.deal_id == c)
    ]  # fmt: skip
    rest = [e for e in events if e not in first]
    await run.produce(first)
    async with run.running() as runners:
        await run.drained(runners)
        async with run.engine.connect() as connection:
            visible = await visible_deal_ids(connection, customer_of)
        customers = {e.data.customer_id for e in first
                     if isinstance(e, CustomerCreated | CustomerUpdated)}  # fmt: skip
        stored = {e.deal_id for e in first if e.event_type.startswith("message.")}
        assert visible == visible_deals(customer_of, customers, stored), "SQL twin of the rule"
        assert a in visible
        assert b not in visible, "no customer row yet"
        assert c not in visible, "no stored message yet"
        marked = await run.rows("SELECT deal_id FROM deal_messages_stored WHERE deal_id = ANY(:i)",
                                i=[a, b, c])  # fmt: skip
        assert {row["deal_id"] for row in marked} == {a, b}

        await run.produce(rest)
        await run.drained(runners)
        async with run.engine.connect() as connection:
            assert await visible_deal_ids(connection, customer_of) == set(customer_of)
