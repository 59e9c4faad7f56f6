"""Outages lose nothing: with a store stopped mid-stream, the sinks wait, then catch up alone.

Each test produces one demo stream, stops PostgreSQL or DynamoDB Local while the sinks write it,
produces a second one (new deals: both sinks need the stopped store), checks that the affected
sinks back off with visible lag and nothing committed past what they wrote, starts the store
again, and then finds every row and item exactly once, at its newest version. A third test does
the same through two rebalances (a member joins mid-stream, then the first one leaves).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest

from chatsync.agents.sinks import SinkRunner
from chatsync.events import CustomerCreated, CustomerUpdated, DealCreated, DealUpdated
from chatsync.infra.sinks.message_fold import MessageEvent
from chatsync.infra.sinks.visibility import visible_deal_ids
from chatsync.infra.stack.stack import Stack
from chatsync.normalise.pipeline import NormalisedEvent
from tests.integration.test_sinks_harness import (
    SinkRun,
    TopicFactory,
    demo_events,
    expected_items,
    observed,
    open_sink_run,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def run(local_stack: Stack, topic_factory: TopicFactory) -> AsyncIterator[SinkRun]:
    async with open_sink_run(local_stack.settings, topic_factory) as sink_run:
        yield sink_run


async def _through_an_outage(run: SinkRun, stack: Stack, store: str, affected: set[str]) -> None:
    before, during = (demo_events(customers_per_owner=5, messages_per_chat=20) for _ in "ab")
    component = stack.component(store)
    async with run.running() as runners:
        await run.produce(before)
        await wait_until(lambda: all(r.metrics.batches > 0 for r in runners), "a first write")
        await asyncio.to_thread(component.stop)
        try:
            await run.produce(during)
            hit = [r for r in runners if r.sink.name in affected]
            await wait_until(
                lambda: all(r.metrics.backing_off and r.metrics.total_lag > 0 for r in hit),
                f"{affected} backing off with lag",
            )
            for runner in hit:
                assert await run.uncommitted(runner.group_id, runner.sink.topics), (
                    "nothing committed past the outage"
                )
        finally:
            await stack.ensure_up(component)
        await run.drained(runners)
        await wait_until(lambda: all(r.metrics.total_lag == 0 for r in runners), "lag back to 0")
        for runner in runners:
            assert not runner.metrics.backing_off
            assert (runner.metrics.errors > 0) == (runner.sink.name in affected)
    await _assert_everything_stored_once(run, before + during)


async def _assert_everything_stored_once(run: SinkRun, events: list[NormalisedEvent]) -> None:
    deals = {e.deal_id: e.data for e in events if isinstance(e, DealCreated | DealUpdated)}
    customers = {e.data.customer_id: e.data.version for e in events
                 if isinstance(e, CustomerCreated | CustomerUpdated)}  # fmt: skip
    rows = await run.rows("SELECT id, version FROM deals WHERE id = ANY(:i)", i=list(deals))
    assert {r["id"]: r["version"] for r in rows} == {d: data.version for d, data in deals.items()}
    rows = await run.rows("SELECT id, version FROM customers WHERE id = ANY(:i)", i=list(customers))
    assert {r["id"]: r["version"] for r in rows} == customers
    messages = [e for e in events if isinstance(e, MessageEvent)]
    assert observed(await run.items()) == expected_items(messages)
    async with run.engine.connect() as connection:
        visible = await visible_deal_ids(connection, deals)
    assert visible == {e.deal_id for e in messages}


async def test_postgresql_down_mid_stream_loses_nothing(run: SinkRun, local_stack: Stack) -> None:
    # The DynamoDB sink is hit too: it records the fully-synced marks in PostgreSQL.
    await _through_an_outage(run, local_stack, "postgres", affected={"postgres", "dynamodb"})


async def test_dynamodb_down_mid_stream_loses_nothing(run: SinkRun, local_stack: Stack) -> None:
    await _through_an_outage(run, local_stack, "dynamodb", affected={"dynamodb"})


async def test_members_joining_and_leaving_mid_stream_lose_nothing(run: SinkRun) -> None:
    """Rebalances: a second member joins while the first writes, then the first leaves."""
    parts = [demo_events(customers_per_owner=6, messages_per_chat=6) for _ in range(3)]
    prefix = f"test-rebalance-{uuid.uuid4().hex[:8]}-"
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(run.running(group_prefix=prefix))
        await run.produce(parts[0])
        await wait_until(lambda: all(r.metrics.batches > 0 for r in first), "a first write")
        second = await stack.enter_async_context(run.running(group_prefix=prefix))
        await wait_until(lambda: _shared(first, second), "the partitions shared by both")
        await run.produce(parts[1])
        await wait_until(lambda: all(r.metrics.batches > 0 for r in second), "the second writes")
        for runner in first:
            runner.stop()
        await run.produce(parts[2])
        await run.drained(second)
    await _assert_everything_stored_once(run, [event for part in parts for event in part])


def _shared(first: list[SinkRunner], second: list[SinkRunner]) -> bool:
    """Each sink's partitions are split between the two members (per their lag metrics)."""
    return all(
        a.metrics.lag and b.metrics.lag and not set(a.metrics.lag) & set(b.metrics.lag)
        for a, b in zip(first, second, strict=True)
    )
