"""The DynamoDB sink: ``chat.messages`` into the messages table, plus the fully-synced bookkeeping.

**Table design.** One item per message: partition key ``deal_id`` (S), sort key ``message_id``
(N); the attributes are the contract in ``chatsync.infra.dynamodb`` (``message_item`` /
``message_from_item``). Access patterns, all served by the primary key (no index):

* a deal's latest messages (deal detail) and older pages: ``Query`` with
  ``KeyConditionExpression deal_id = :d``, ``ScanIndexForward=False`` (newest first, since
  message ids grow with time in a chat) and ``Limit``; the next page continues from
  ``LastEvaluatedKey`` (or ``message_id < :before``);
* one message: ``GetItem`` on (``deal_id``, ``message_id``).

**Edits and deletes.** ``data`` is the current version; ``edits`` keeps every earlier version that
a ``message.edited`` replaced, oldest first, so no history is lost. A delete is a soft delete:
``is_deleted`` becomes true and the content stays (the API decides what to show). The rules are
pure, in ``message_fold``.

**Idempotent conditional writes without conditions.** BatchWriteItem cannot carry a condition, so
each flush: groups the batch per message (the newest version wins, edits accumulate),
BatchGetItem's the stored items (consistent reads), folds the events into them, skips messages
whose stored version is already as new, and BatchWriteItem's the rest (25 per request, several
requests at once, unprocessed items retried with exponential backoff). A replay therefore writes
nothing, and an older event never overwrites a newer item.

**Why read-then-write is safe: a single writer per deal.** ``chat.messages`` is keyed by deal id,
so all events of a deal are in one partition, and a partition has exactly one consumer in the
sink's group at a time; nobody else writes the table. Between the read and the write of a flush
no other writer can change a deal's items. The one exception is a rebalance: a consumer that lost
the partition may finish a write it began; the new owner re-reads from the last committed offset
and writes every later version again, so the item converges on the newest one (its version and
history are a function of the events).

**Fully synced.** After the items of a batch are written, every deal of the batch has at least
one stored message: it gets a row in PostgreSQL's ``deal_messages_stored`` (``INSERT ... ON
CONFLICT DO NOTHING``). With its customer row, that makes the deal visible to the list API (see
``visibility``). If PostgreSQL is down the whole flush is retried: the DynamoDB part then writes
nothing (already stored) and the marks are inserted.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Annotated, TypeVar

from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsync.events import MessageCreated, MessageDeleted, MessageEdited
from chatsync.infra.dynamodb import (
    Item,
    MessageItem,
    message_from_item,
    message_item,
    message_key,
)
from chatsync.infra.sinks.base import BatchingSink, SinkBatch
from chatsync.infra.sinks.errors import SinkBackpressure, UndecodableRecord
from chatsync.infra.sinks.message_fold import MessageEvent, MessageKey, fold_message, group_messages
from chatsync.infra.sinks.outages import backpressure_on_outage
from chatsync.infra.sinks.policy import Backoff
from chatsync.infra.sinks.visibility import mark_messages_stored

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import WriteRequestTypeDef

GET_CHUNK = 100  # BatchGetItem's limit
PUT_CHUNK = 25  # BatchWriteItem's limit
DEAL_ID_MAX_CHARS = 64  # deal_messages_stored.deal_id is String(64)
MARKED_REMEMBERED = 100_000
UNPROCESSED_BACKOFF = Backoff(initial_s=0.05, max_s=2.0)
R = TypeVar("R")
_MESSAGE_EVENTS: TypeAdapter[MessageEvent] = TypeAdapter(
    Annotated[MessageCreated | MessageEdited | MessageDeleted, Field(discriminator="event_type")]
)


class DynamoDBSink(BatchingSink[MessageEvent]):
    """Messages into DynamoDB; ``write`` returns the items it wrote (stale ones are skipped)."""

    name = "dynamodb"

    def __init__(
        self, client: DynamoDBClient, engine: AsyncEngine, *, table: str, messages_topic: str,
        concurrency: int = 8, unprocessed_attempts: int = 8,
        unprocessed_backoff: Backoff = UNPROCESSED_BACKOFF,
    ) -> None:  # fmt: skip
        super().__init__()
        self.topics = (messages_topic,)
        self._client, self._engine, self._table = client, engine, table
        self._requests = asyncio.Semaphore(concurrency)
        self._attempts, self._backoff = unprocessed_attempts, unprocessed_backoff
        self._marked: OrderedDict[str, None] = OrderedDict()

    def decode(self, topic: str, key: bytes | None, value: bytes) -> MessageEvent:
        if topic not in self.topics:
            raise UndecodableRecord(f"{topic} is not a topic of the {self.name} sink")
        try:
            event = _MESSAGE_EVENTS.validate_json(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the value"
            raise UndecodableRecord(f"not an event of {topic}: {where}: {first['msg']}") from None
        if not 0 < len(event.deal_id) <= DEAL_ID_MAX_CHARS:
            raise UndecodableRecord(f"deal_id must have 1 to {DEAL_ID_MAX_CHARS} characters")
        return event

    async def write(self, batch: SinkBatch[MessageEvent]) -> int:
        groups = group_messages(batch.values())
        with backpressure_on_outage("DynamoDB"):
            stored = await self._stored(list(groups))
            items = [item for key, events in groups.items()
                     if (item := fold_message(stored.get(key), events)) is not None]  # fmt: skip
            chunks = [items[i : i + PUT_CHUNK] for i in range(0, len(items), PUT_CHUNK)]
            await _gather(self._put(chunk) for chunk in chunks)
        unmarked = {deal for deal, _ in groups if deal not in self._marked}
        if unmarked:
            with backpressure_on_outage("PostgreSQL"):
                async with self._engine.begin() as connection:
                    await mark_messages_stored(connection, unmarked)
            self._remember_marked(unmarked)
        return len(items)

    async def _stored(self, keys: list[MessageKey]) -> dict[MessageKey, MessageItem]:
        chunks = [keys[i : i + GET_CHUNK] for i in range(0, len(keys), GET_CHUNK)]
        stored: dict[MessageKey, MessageItem] = {}
        for found in await _gather(self._get(chunk) for chunk in chunks):
            stored.update({(item.deal_id, item.message_id): item for item in found})
        return stored

    async def _get(self, keys: list[MessageKey]) -> list[MessageItem]:
        """One BatchGetItem (consistent reads), retrying the keys DynamoDB left unprocessed."""
        request: list[Item] = [message_key(deal, message) for deal, message in keys]
        found: list[MessageItem] = []
        for attempt in range(self._attempts):
            async with self._requests:
                response = await self._client.batch_get_item(
                    RequestItems={self._table: {"Keys": request, "ConsistentRead": True}}
                )
            found += [message_from_item(raw) for raw in response["Responses"].get(self._table, [])]
            unprocessed = response.get("UnprocessedKeys", {}).get(self._table)
            request = list(unprocessed["Keys"]) if unprocessed else []
            if not request:
                return found
            await asyncio.sleep(self._backoff.delay(attempt, spread=random.random()))  # noqa: S311
        raise SinkBackpressure(f"DynamoDB left {len(request)} keys unread", retry_after=1.0)

    async def _put(self, items: list[MessageItem]) -> None:
        """One BatchWriteItem, retrying the items DynamoDB left unprocessed (throttling)."""
        requests: list[WriteRequestTypeDef] = [
            {"PutRequest": {"Item": message_item(item)}} for item in items
        ]
        for attempt in range(self._attempts):
            async with self._requests:
                response = await self._client.batch_write_item(RequestItems={self._table: requests})
            unprocessed = response.get("UnprocessedItems", {}).get(self._table, [])
            requests = [{"PutRequest": r["PutRequest"]} for r in unprocessed if "PutRequest" in r]
            if not requests:
                return
            await asyncio.sleep(self._backoff.delay(attempt, spread=random.random()))  # noqa: S311
        raise SinkBackpressure(f"DynamoDB left {len(requests)} items unwritten", retry_after=1.0)

    def _remember_marked(self, deals: Iterable[str]) -> None:
        for deal in deals:
            self._marked[deal] = None
            self._marked.move_to_end(deal)
        while len(self._marked) > MARKED_REMEMBERED:
            self._marked.popitem(last=False)


async def _gather(calls: Iterable[Awaitable[R]]) -> list[R]:
    """All results; when one call fails, the others are cancelled and awaited before the error
    propagates, so no request of a failed flush is still in flight when the batch is retried."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
