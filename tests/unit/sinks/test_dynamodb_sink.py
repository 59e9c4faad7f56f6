"""The DynamoDB sink's write path over fakes: read, fold, write, unprocessed items, failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import pytest
from botocore.exceptions import EndpointConnectionError

from chatsync.infra.dynamodb import Item, message_from_item
from chatsync.infra.sinks.base import SinkRecord
from chatsync.infra.sinks.dynamodb import DynamoDBSink
from chatsync.infra.sinks.errors import SinkBackpressure
from chatsync.infra.sinks.message_fold import MessageEvent
from chatsync.infra.sinks.policy import Backoff
from tests.unit.sinks.factories import created, edited

TABLE = "messages"


class FakeDynamoDB:
    """A table in a dict. Write call n hands back ``unprocessed[n]`` items (the last number
    for later calls); after ``fail_after`` calls, one call raises and later ones hang."""

    def __init__(self, unprocessed: list[int] | None = None, fail_after: int | None = None
                 ) -> None:  # fmt: skip
        self.items: dict[tuple[str, str], Item] = {}
        self.unprocessed, self.fail_after = unprocessed or [0], fail_after
        self.write_calls = 0
        self.cancelled = 0

    async def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        keys = RequestItems[TABLE]["Keys"]
        assert RequestItems[TABLE]["ConsistentRead"] is True
        found = [self.items[_key(k)] for k in keys if _key(k) in self.items]
        return {"Responses": {TABLE: found}, "UnprocessedKeys": {}}

    async def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.write_calls += 1
        if self.fail_after is not None and self.write_calls > self.fail_after:
            if self.write_calls == self.fail_after + 1:
                raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        requests = RequestItems[TABLE]
        assert len(requests) <= 25
        left_over = self.unprocessed[min(self.write_calls, len(self.unprocessed)) - 1]
        kept, left = requests[left_over:], requests[:left_over]
        for request in kept:
            item = request["PutRequest"]["Item"]
            self.items[_key(item)] = item
        return {"UnprocessedItems": {TABLE: left} if left else {}}


def _key(item: Item) -> tuple[str, str]:
    return item["deal_id"]["S"], item["message_id"]["N"]


class FakeEngine:
    """Records the rows ``mark_messages_stored`` inserts."""

    def __init__(self) -> None:
        self.marked: list[str] = []

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[FakeEngine]:
        yield self

    async def execute(self, statement: object, rows: list[dict[str, str]]) -> None:
        self.marked += [row["deal_id"] for row in rows]


def _sink(client: FakeDynamoDB, engine: FakeEngine) -> DynamoDBSink:
    return DynamoDBSink(cast(Any, client), cast(Any, engine), table=TABLE, messages_topic="m",
                        unprocessed_backoff=Backoff(initial_s=0.0, max_s=0.0))  # fmt: skip


async def _write(sink: DynamoDBSink, *events: MessageEvent) -> int:
    for offset, event in enumerate(events):
        sink.add(SinkRecord("m", 0, offset, event))
    return await sink.flush()


async def test_a_batch_is_read_folded_and_written_in_chunks_of_25() -> None:
    client, engine = FakeDynamoDB(), FakeEngine()
    sink = _sink(client, engine)
    events = [created(n, 100, f"m{n}") for n in range(60)]
    assert await _write(sink, *events, edited(3, 110, "m3 again")) == 60
    assert client.write_calls == 3
    item = message_from_item(client.items[("deal_0001", "3")])
    assert (item.data.text, [e.text for e in item.edits]) == ("m3 again", ["m3"])
    assert engine.marked == ["deal_0001"]


async def test_stale_events_write_nothing_and_a_marked_deal_is_not_marked_again() -> None:
    client, engine = FakeDynamoDB(), FakeEngine()
    sink = _sink(client, engine)
    await _write(sink, created(1, 100, "a"), edited(1, 110, "b"))
    calls = client.write_calls
    assert await _write(sink, created(1, 100, "a"), edited(1, 110, "b")) == 0
    assert client.write_calls == calls
    assert engine.marked == ["deal_0001"]


async def test_unprocessed_items_are_sent_again_until_written() -> None:
    client = FakeDynamoDB(unprocessed=[10, 4, 0])
    assert await _write(_sink(client, FakeEngine()), *(created(n, 1, "x") for n in range(25))) == 25
    assert (client.write_calls, len(client.items)) == (3, 25)


async def test_items_left_unprocessed_for_good_become_back_pressure() -> None:
    client = FakeDynamoDB(unprocessed=[10])
    sink = _sink(client, FakeEngine())
    with pytest.raises(SinkBackpressure, match="10 items unwritten"):
        await _write(sink, *(created(n, 100, "x") for n in range(25)))
    assert sink.pending == 25, "kept for the runner's next attempt"
    client.unprocessed = [0]
    assert await sink.flush() == 10, "the 15 written before are skipped: already stored"
    assert len(client.items) == 25


async def test_a_failed_request_cancels_the_rest_of_the_flush_before_back_pressure() -> None:
    client = FakeDynamoDB(fail_after=1)
    sink = _sink(client, FakeEngine())
    with pytest.raises(SinkBackpressure, match="DynamoDB unavailable"):
        await _write(sink, *(created(n, 100, "x") for n in range(100)))
    assert client.cancelled == 2, "no request of the failed flush is left in flight"
