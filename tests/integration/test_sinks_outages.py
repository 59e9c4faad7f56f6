"""Outages lose and duplicate nothing: with a store stopped for OUTAGE_SECONDS under load, the
consumers wait, then catch up alone.

The sink tests keep producing new demo streams (new deals: both sinks need the stopped store)
before, during and after a PostgreSQL or DynamoDB Local outage of OUTAGE_SECONDS. While the store
is down, the affected sinks back off with visible, growing lag and commit nothing; once it is
started again they drain, the lag returns to 0, and every row and item is there exactly once, at
its newest version. The S3 test does the same for the avatar commands of ``chatsync commands``.
A last test runs the sinks through two rebalances (a member joins mid-stream, then the first one
leaves).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from chatsync.agents.commands.executor import Outcome
from chatsync.agents.commands.models import decode_command
from chatsync.agents.commands.s3store import avatar_key
from chatsync.agents.sinks import SinkRunner
from chatsync.events import CustomerCreated, CustomerUpdated, DealCreated, DealUpdated
from chatsync.infra.sinks.message_fold import MessageEvent
from chatsync.infra.sinks.visibility import visible_deal_ids
from chatsync.infra.stack.stack import Stack
from chatsync.normalise.pipeline import NormalisedEvent
from tests.integration.test_commands import CommandsRun, open_commands_run
from tests.integration.test_sinks_harness import (
    SinkRun,
    TopicFactory,
    demo_events,
    expected_items,
    observed,
    open_sink_run,
    wait_until,
)
from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.integration
OUTAGE_SECONDS = 30
LOAD_INTERVAL_S = 1.0  # a new demo stream this often, before, during and after an outage
LOAD_SHAPE = {"customers_per_owner": 2, "messages_per_chat": 6}  # about 90 events each


@pytest.fixture
async def run(local_stack: Stack, topic_factory: TopicFactory) -> AsyncIterator[SinkRun]:
    async with open_sink_run(local_stack.settings, topic_factory) as sink_run:
        yield sink_run


class ContinuousLoad:
    """Runs ``step`` every LOAD_INTERVAL_S until stopped; ``steps`` counts the finished ones."""

    def __init__(self, step: Callable[[], Awaitable[None]]) -> None:
        self.step, self.steps = step, 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run_until_stopped())

    async def stop(self) -> None:
        """Stop; a failed step fails the test here."""
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def more_steps(self, count: int) -> None:
        """Wait until ``count`` more steps are done (a failed step fails the test at once)."""
        target = self.steps + count
        await wait_until(lambda: self.steps >= target or self._ended(), f"{count} more steps")
        if self._task is not None and self._task.done():
            self._task.result()  # raises what failed the step

    def _ended(self) -> bool:
        return self._task is not None and self._task.done()

    async def _run_until_stopped(self) -> None:
        while not self._stopping.is_set():
            await self.step()
            self.steps += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), LOAD_INTERVAL_S)


@contextlib.asynccontextmanager
async def continuous_load(step: Callable[[], Awaitable[None]]) -> AsyncIterator[ContinuousLoad]:
    """Run ``step`` continuously while the block runs."""
    load = ContinuousLoad(step)
    load.start()
    try:
        yield load
    finally:
        await load.stop()


@dataclass
class DemoStreams:
    """A step of the sinks' load: a fresh demo stream (new deals, customers and messages)."""

    run: SinkRun
    sent: list[NormalisedEvent] = field(default_factory=list)

    async def __call__(self) -> None:
        stream = demo_events(**LOAD_SHAPE)
        await self.run.produce(stream)
        self.sent.extend(stream)


async def _through_an_outage(run: SinkRun, stack: Stack, store: str, affected: set[str]) -> None:
    component, streams = stack.component(store), DemoStreams(run)
    async with run.running() as runners:
        hit = [r for r in runners if r.sink.name in affected]
        async with continuous_load(streams) as load:
            await wait_until(lambda: all(r.metrics.batches > 0 for r in runners), "a first write")
            back_at = time.monotonic() + OUTAGE_SECONDS
            await asyncio.to_thread(component.stop)
            try:
                await _sinks_while_down(run, hit, load, until=back_at)
            finally:
                await stack.ensure_up(component)
            await load.more_steps(3)  # the sinks catch up under load
        await run.drained(runners)
        await wait_until(lambda: all(r.metrics.total_lag == 0 for r in runners), "lag back to 0")
        for runner in runners:
            assert not runner.metrics.backing_off
            assert (runner.metrics.errors > 0) == (runner.sink.name in affected)
    await _assert_everything_stored_once(run, streams.sent)


async def _sinks_while_down(
    run: SinkRun, hit: list[SinkRunner], load: ContinuousLoad, until: float
) -> None:
    """Watch the outage until ``until``: the hit sinks back off with lag that grows under the
    load, and commit nothing while the store is down."""
    await wait_until(lambda: all(r.metrics.backing_off and r.metrics.total_lag > 0 for r in hit),
                     "the affected sinks backing off with lag")  # fmt: skip
    frozen = {r.group_id: await run.committed(r.group_id) for r in hit}
    lag_seen, steps_seen = {r.group_id: r.metrics.total_lag for r in hit}, load.steps
    await asyncio.sleep(max(0.0, until - time.monotonic()))
    assert load.steps > steps_seen, "events kept coming during the outage"
    for runner in hit:
        assert runner.metrics.backing_off, f"{runner.sink.name}: still backing off"
        assert runner.metrics.total_lag > lag_seen[runner.group_id], "the lag grows under load"
        assert await run.committed(runner.group_id) == frozen[runner.group_id], (
            f"{runner.sink.name}: nothing committed while the store is down"
        )
        assert await run.uncommitted(runner.group_id, runner.sink.topics), "records wait"


async def _assert_everything_stored_once(run: SinkRun, events: list[NormalisedEvent]) -> None:
    deals = {e.deal_id: e.data for e in events if isinstance(e, DealCreated | DealUpdated)}
    customers = {e.data.customer_id: e.data.version for e in events
                 if isinstance(e, CustomerCreated | CustomerUpdated)}  # fmt: skip
    rows = await run.rows("SELECT id, version FROM deals WHERE id = ANY(:i)", i=list(deals))
    assert {r["id"]: r["version"] for r in rows} == {d: data.version for d, data in deals.items()}
    rows = await run.rows("SELECT id, version FROM customers WHERE id = ANY(:i)", i=list(customers))
    assert {r["id"]: r["version"] for r in rows} == customers
    messages = [e for e in events if isinstance(e, MessageEvent)]
    items, expected = await run.items(), expected_items(messages)
    assert len(items) == len(expected), "one item per message"
    assert observed(items) == expected
    async with run.engine.connect() as connection:
        visible = await visible_deal_ids(connection, deals)
    assert visible == {e.deal_id for e in messages}


async def test_postgresql_down_mid_stream_loses_nothing(run: SinkRun, local_stack: Stack) -> None:
    # The DynamoDB sink is hit too: it records the fully-synced marks in PostgreSQL.
    await _through_an_outage(run, local_stack, "postgres", affected={"postgres", "dynamodb"})


async def test_dynamodb_down_mid_stream_loses_nothing(run: SinkRun, local_stack: Stack) -> None:
    await _through_an_outage(run, local_stack, "dynamodb", affected={"dynamodb"})


@dataclass
class NewCustomers:
    """A step of the avatar load: a new customer (its row in PostgreSQL, a profile photo at the
    fake Bot API, every third one the photo of the first customer) and its customer.created on
    chat.customers, which the executor's avatar requests turn into a fetch_avatar command."""

    run: CommandsRun
    photos: dict[int, bytes] = field(default_factory=dict)  # user id -> profile photo

    async def __call__(self) -> None:
        user = random.randrange(10**9, 2 * 10**9)
        shared = len(self.photos) % 3 == 2
        photo = next(iter(self.photos.values())) if shared else b"\xff\xd8" + random.randbytes(64)
        await self.run.add_customer(user)
        self.run.bot_api.photos[user] = photo
        await self.run.customer_event(user)
        self.photos[user] = photo


async def test_s3_down_mid_stream_loses_and_duplicates_no_avatar(
    local_stack: Stack, topic_factory: TopicFactory
) -> None:
    component = local_stack.component("s3")
    async with open_commands_run(local_stack.settings, topic_factory) as run:
        customers, outcomes = NewCustomers(run), list[Outcome]()
        offsets = SinkRun(run.settings, run.engine)  # its offset queries serve any group
        run.start(max_attempts=1)  # no attempt to spare: an S3 outage must not spend one
        async with continuous_load(customers) as load:
            await wait_until(lambda: bool(run.s3.uploaded), "a first avatar stored")
            back_at = time.monotonic() + OUTAGE_SECONDS
            await asyncio.to_thread(component.stop)
            try:
                await _commands_while_down(run, offsets, load, outcomes, until=back_at)
            finally:
                await local_stack.ensure_up(component)
            await load.more_steps(3)  # the executor catches up under load
        groups = {run.config.group_id: (run.settings.topic_commands,),
                  run.config.avatar_requests_group_id: (run.settings.topic_customers,)}  # fmt: skip
        await offsets.groups_drained(groups, still_running=lambda: _loops_running(run))
        outcomes += _reported(run)
        await _assert_every_avatar_stored_once(run, customers, outcomes)


async def _commands_while_down(
    run: CommandsRun, offsets: SinkRun, load: ContinuousLoad, outcomes: list[Outcome],
    until: float,
) -> None:  # fmt: skip
    """Watch the S3 outage until ``until``: commands wait uncommitted, in a growing backlog;
    none is given up, and none past the committed offsets is left unexecuted."""
    group, topics = run.config.group_id, (run.settings.topic_commands,)
    await wait_until(lambda: run.s3.unreachable > 0, "the executor meeting the outage")
    waiting_seen, steps_seen = await offsets.uncommitted(group, topics) or 0, load.steps
    await asyncio.sleep(max(0.0, until - time.monotonic()))
    assert load.steps > steps_seen, "commands kept coming during the outage"
    assert (await offsets.uncommitted(group, topics) or 0) > waiting_seen, "the backlog grows"
    committed = await offsets.committed(group) or {}  # before the outcomes: each is reported
    outcomes += _reported(run)  # before its command is committed
    assert [o for o in outcomes if o.status != "done"] == [], "nothing given up"
    behind = [decode_command(r.value).command_id
              for r in await read_topic(run.settings.kafka_bootstrap_servers, topics[0])
              if r.offset < committed.get((r.topic, r.partition), 0)]  # fmt: skip
    assert set(behind) <= {o.command.command_id for o in outcomes}, "committed past a command"


def _reported(run: CommandsRun) -> list[Outcome]:
    """The outcomes the executor reported since the last call."""
    reported = []
    while not run.outcomes.empty():
        reported.append(run.outcomes.get_nowait())
    return reported


def _loops_running(run: CommandsRun) -> None:
    """Raise when a consumer loop of the executor stopped by itself (a bug)."""
    for task in run.tasks:
        if task.done():
            task.result()
            raise AssertionError("a consumer loop stopped by itself")


async def _assert_every_avatar_stored_once(
    run: CommandsRun, customers: NewCustomers, outcomes: list[Outcome]
) -> None:
    servers = run.settings.kafka_bootstrap_servers
    commands = [
        decode_command(r.value) for r in await read_topic(servers, run.settings.topic_commands)
    ]
    assert len(commands) == len(customers.photos), "one command per customer event"
    assert {o.command.command_id for o in outcomes} == {c.command_id for c in commands}, (
        "every command executed: none lost"
    )
    assert {o.status for o in outcomes} == {"done"}
    assert await read_topic(servers, run.settings.topic_dlq, timeout_ms=500) == []
    for user, photo in customers.photos.items():
        key, checked_at = await run.avatar_of(user)
        assert (key, checked_at is not None) == (avatar_key(photo), True), f"customer {user}"
    photos = set(customers.photos.values())
    assert len(photos) < len(customers.photos), "some customers share a photo"
    assert run.s3.uploaded == Counter({avatar_key(photo): 1 for photo in photos}), (
        "each avatar uploaded exactly once"
    )
    for photo in photos:
        assert await run.object(avatar_key(photo)) == (photo, "image/jpeg")


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
