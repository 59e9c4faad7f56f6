"""The DynamoDB sink on the real stack: the item contract, edit history, soft deletes, the DLQ."""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import AsyncIterator

import pytest

from chatsync.events import MessageDeleted
from chatsync.infra.aws import dynamodb_client
from chatsync.infra.dynamodb import MessageItem
from chatsync.infra.message_reader import read_messages
from chatsync.infra.sinks.message_fold import MessageEvent
from chatsync.infra.stack.stack import Stack
from tests.integration.test_sinks_harness import (
    ProducedRecord,
    SinkRun,
    TopicFactory,
    demo_events,
    expected_items,
    observed,
    open_sink_run,
)
from tests.kafka_helpers import read_topic
from tests.unit.sinks.factories import created, customer_event, deal_event, deleted, edited

pytestmark = pytest.mark.integration


@pytest.fixture
async def run(local_stack: Stack, topic_factory: TopicFactory) -> AsyncIterator[SinkRun]:
    async with open_sink_run(local_stack.settings, topic_factory) as sink_run:
        yield sink_run


async def test_every_message_is_stored_once_with_its_history_and_soft_deletes(run: SinkRun) -> None:
    events = demo_events()
    messages = [e for e in events if isinstance(e, MessageEvent)]
    assert any(isinstance(e, MessageDeleted) for e in messages)
    assert sum(e.event_type == "message.edited" for e in messages) >= 5
    await run.produce(events)
    async with run.running(only=["dynamodb"]) as runners:
        await run.drained(runners)
    items = await run.items()
    assert len(items) == len({(e.deal_id, e.data.message_id) for e in messages})
    assert observed(items) == expected_items(messages)
    deleted_items = [i for i in items if i.is_deleted]
    assert deleted_items, "soft-deleted messages stay in the table"
    assert all(i.data.is_deleted for i in deleted_items)
    assert any(i.data.text or i.data.media for i in deleted_items), "the content is kept"
    newest = {(e.deal_id, e.data.message_id): e.event_id for e in messages}
    assert {(i.deal_id, i.message_id): i.event_id for i in items} == newest


async def test_history_accumulates_across_batches_and_a_late_version_changes_nothing(
    run: SinkRun,
) -> None:
    deal = f"deal_{uuid.uuid4().hex}"
    first, second, third = (
        created(5, 100, "a", deal),
        edited(5, 110, "b", deal),
        edited(5, 120, "c", deal),
    )
    async with run.running(only=["dynamodb"]) as runners:

        async def write(*events: MessageEvent) -> MessageItem:
            await run.produce(events)
            await run.drained(runners)
            [item] = await run.items()
            return item

        await write(first, second)
        item = await write(third)
        assert [(e.version, e.text) for e in item.edits] == [(100, "a"), (110, "b")]
        assert await write(second, first) == item, "late versions: neither overwrite nor history"
        gone = await write(deleted(third))
    assert (gone.version, gone.is_deleted, gone.data.text, gone.edits) == (
        121,
        True,
        "c",
        item.edits,
    )


async def test_records_that_cannot_be_decoded_go_to_the_dlq_and_the_partition_flows(
    run: SinkRun,
) -> None:
    s = run.settings
    deal = f"deal_{uuid.uuid4().hex}"
    user_id = uuid.uuid4().int % 10**12
    garbage: list[ProducedRecord] = [
        (s.topic_deals, deal.encode(), b"{not an event", []),
        (s.topic_customers, f"tg_{user_id}".encode(), None, []),  # a tombstone
        (s.topic_messages, deal.encode(), b'{"event_type": "message.created"}', []),
        (s.topic_customers, f"tg_{user_id}".encode(), customer_event(1).model_dump_json()
         .replace('"customer.created"', '"customer.renamed"').encode(), []),
    ]  # fmt: skip
    good = [deal_event(1, deal=deal, customer=f"tg_{user_id}"), customer_event(1, user_id=user_id),
            created(1, 100, "after the garbage", deal)]  # fmt: skip
    await run.produce_records([*garbage, *(run.record(e) for e in good)])
    async with run.running() as runners:
        await run.drained(runners)
        assert sum(r.metrics.dead_letters for r in runners) == len(garbage)
    dead = await read_topic(s.kafka_bootstrap_servers, s.topic_dlq, at_least=len(garbage))
    assert sorted(r.value for r in dead) == sorted(value or b"" for _, _, value, _ in garbage)
    for record in dead:
        headers = {key: value.decode() for key, value in record.headers}
        topic = headers["dlq.source.topic"]
        assert headers["dlq.stage"] == ("sink:dynamodb" if topic == s.topic_messages
                                        else "sink:postgres")  # fmt: skip
        assert "UndecodableRecord" in headers["dlq.error"]
        assert int(headers["dlq.source.offset"]) in (0, 1)
        assert record.key in {deal.encode(), f"tg_{user_id}".encode()}
    assert [row["version"] for row in await run.rows("SELECT version FROM deals WHERE id = :d",
                                                     d=deal)] == [1]  # fmt: skip
    assert [i.data.text for i in await run.items()] == ["after the garbage"]


async def test_a_message_edited_without_end_stays_writable_and_readable(run: SinkRun) -> None:
    """Its history outgrows DynamoDB's 400 KB item limit as JSON: the sink stores it compressed,
    and beyond the budget drops the oldest edits (counted) instead of failing the batch."""
    deal = f"deal_{uuid.uuid4().hex}"

    def text(n: int) -> str:  # incompressible, so that compression alone does not suffice
        return f"revision {n}: " + "".join(random.Random(n).choices(string.ascii_letters, k=3000))

    events: list[MessageEvent] = [created(9, 100, text(0), deal)]
    events += [edited(9, 100 + n, text(n), deal) for n in range(1, 201)]
    async with run.running(only=["dynamodb"]) as runners:
        await run.produce(events)
        await run.drained(runners)
        assert all(r.metrics.errors == 0 for r in runners)
    (raw,) = await run.raw_items()
    assert "edits_z" in raw
    (item,) = await run.items()
    assert item.version == 300
    assert item.data.text == text(200)
    assert item.edits_dropped > 0
    assert [e.version for e in item.edits] == list(range(100 + item.edits_dropped, 300))
    async with dynamodb_client(run.settings) as client:
        (message,) = await read_messages(
            client, run.settings.dynamodb_messages_table, deal, limit=5
        )
    assert [edit["version"] for edit in message.edits] == [e.version for e in item.edits]
