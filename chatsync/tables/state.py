"""The normaliser's state in Faust tables: JSON values, changelog-backed, RocksDB on disk.

Every table is written from inside the agent that owns its key's partition, so Faust writes the
changelog record to the partition of the event being processed and a restarted or rebalanced
worker restores exactly the state of its partitions.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

import faust
import faust.streams
from faust.types import FutureMessage
from pydantic import BaseModel

from chatsync.normalise.connections import ConnectionState
from chatsync.normalise.customers import CustomerState
from chatsync.normalise.deals import DealState, MessageVersion

Model = TypeVar("Model", bound=BaseModel)
Result = TypeVar("Result")


_CHANGELOG: ContextVar[list[ChangelogRecord] | None] = ContextVar("changelog", default=None)


@dataclass(frozen=True, slots=True)
class ChangelogRecord:
    """A table write's changelog record, to be sent by the worker (``publish_changelog``)."""

    table: AcknowledgedTable
    partition: int
    key: bytes
    value: bytes | None


@dataclass(frozen=True, slots=True)
class _Placed:
    """What Faust's ``Table.on_key_set`` reads of a changelog send: the partition it went to."""

    partition: int

    @property
    def message(self) -> _Placed:
        return self


class AcknowledgedTable(faust.Table[bytes, bytes]):
    """A table whose changelog records the worker sends and waits for itself.

    Faust sends a table write's changelog record through its producer buffer and, before it
    commits offsets, waits for that buffer with a flush that gives up after 0.1 s without
    progress: on a busy machine it commits offsets whose table writes are not in the changelog
    yet, and a worker killed then restores tables that are behind its committed offsets. Inside
    ``changelog_records`` a write's record is collected instead, and the worker sends the
    batch's records straight to the producer and waits for Kafka to acknowledge them before it
    lets Faust acknowledge the input records that made them (which also spares a future message
    and a buffer hop per record).
    """

    def send_changelog(
        self, partition: int | None, key: Any, value: Any, key_serializer: Any = None,
        value_serializer: Any = None,
    ) -> FutureMessage:  # fmt: skip
        records = _CHANGELOG.get()
        if records is None:
            return super().send_changelog(partition, key, value, key_serializer,
                                          value_serializer)  # fmt: skip
        assert partition is not None, "a table write outside of its record's context"
        assert isinstance(key, bytes), "raw keys (the tables' key_type is bytes)"
        assert value is None or isinstance(value, bytes), "raw values"
        records.append(ChangelogRecord(self, partition, key, value))
        return cast(FutureMessage, _Placed(partition))


@contextmanager
def changelog_records() -> Iterator[list[ChangelogRecord]]:
    """Collect the changelog records of the table writes inside the block (not sent yet)."""
    records: list[ChangelogRecord] = []
    token = _CHANGELOG.set(records)
    try:
        yield records
    finally:
        _CHANGELOG.reset(token)


class ChangelogProducer(Protocol):
    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None,
        timestamp: float | None, headers: Any,
    ) -> Awaitable[Any]: ...  # fmt: skip


async def publish_changelog(producer: ChangelogProducer, records: list[ChangelogRecord]) -> None:
    """Send ``records`` in order, wait until Kafka acknowledged all of them, then note each
    table partition's last offset in its store (what Faust does per record once it is sent:
    a restarted worker reads its changelogs from there)."""
    sent = [
        await producer.send(record.table.changelog_topic.get_topic_name(), record.key,
                            record.value, record.partition, None, None)
        for record in records
    ]  # fmt: skip
    latest: dict[tuple[int, int], tuple[AcknowledgedTable, Any, int]] = {}
    for record, metadata in zip(records, await asyncio.gather(*sent), strict=True):
        key = (id(record.table), record.partition)
        if key not in latest or metadata.offset > latest[key][2]:
            latest[key] = (record.table, metadata.topic_partition, metadata.offset)
    for table, partition, offset in latest.values():
        table.data.set_persisted_offset(partition, offset)


def declare_tables(app: faust.App, partitions: int) -> dict[str, Any]:
    """The four tables, with raw bytes for keys and values (JSON inside; the app's serializers
    are ``raw``)."""
    names = ("connections", "deals", "message-versions", "customers")
    return {
        name: app.tables.add(AcknowledgedTable(
            app, name=name, partitions=partitions, key_type=bytes, value_type=bytes,
            beacon=app.tables.beacon,
        ))
        for name in names
    }  # fmt: skip


def in_context_of(event: faust.EventT[Any], call: Callable[[], Result]) -> Result:
    """Run ``call`` as if ``event`` were the record being processed: Faust takes the store
    partition of a table read or write, and the changelog partition of a write, from its
    current-event context variable. A batch runs its stages in its own task (without a current
    event, a read searched every partition's store) and applies its writes after the stream has
    moved on."""
    token = faust.streams._current_event.set(weakref.ref(event))
    try:
        return call()
    finally:
        faust.streams._current_event.reset(token)


class TableState:
    """NormaliserState over Faust tables."""

    def __init__(self, tables: dict[str, Any]) -> None:
        self._connections = tables["connections"]
        self._deals = tables["deals"]
        self._versions = tables["message-versions"]
        self._customers = tables["customers"]

    @staticmethod
    def _get(table: Any, key: str, model: type[Model]) -> Model | None:
        # From the store itself: Table.get looks a key up twice (``in``, then the value) and
        # calls the sensors in between.
        raw = table.data.get(key.encode())
        return None if raw is None else model.model_validate_json(raw)

    @staticmethod
    def _set(table: Any, key: str, value: BaseModel) -> None:
        table[key.encode()] = value.model_dump_json().encode()

    def connection(self, connection_id: str) -> ConnectionState | None:
        return self._get(self._connections, connection_id, ConnectionState)

    def set_connection(self, state: ConnectionState) -> None:
        self._set(self._connections, state.connection_id, state)

    def deal(self, deal_id: str) -> DealState | None:
        return self._get(self._deals, deal_id, DealState)

    def set_deal(self, state: DealState) -> None:
        self._set(self._deals, state.deal_id, state)

    def version(self, deal_id: str, message_id: int) -> MessageVersion | None:
        return self._get(self._versions, f"{deal_id}:{message_id}", MessageVersion)

    def set_version(self, deal_id: str, version: MessageVersion) -> None:
        self._set(self._versions, f"{deal_id}:{version.content.message_id}", version)

    def customer(self, user_id: int) -> CustomerState | None:
        return self._get(self._customers, str(user_id), CustomerState)

    def set_customer(self, state: CustomerState) -> None:
        self._set(self._customers, str(state.profile.user_id), state)
