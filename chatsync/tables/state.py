"""The normaliser's state in Faust tables: JSON values, changelog-backed, RocksDB on disk.

Every table is written from inside the agent that owns its key's partition, so Faust writes the
changelog record to the partition of the event being processed and a restarted or rebalanced
worker restores exactly the state of its partitions.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import faust
import faust.streams
from faust.types import FutureMessage
from pydantic import BaseModel

from chatsync.normalise.connections import ConnectionState
from chatsync.normalise.customers import CustomerState
from chatsync.normalise.deals import DealState, MessageVersion

Model = TypeVar("Model", bound=BaseModel)


_CHANGELOG_SENDS: ContextVar[list[FutureMessage] | None] = ContextVar(
    "changelog_sends", default=None
)


class AcknowledgedTable(faust.Table[bytes, bytes]):
    """A table whose changelog writes can be awaited (see ``changelog_sends``).

    Faust sends a table write's changelog record through its producer buffer and, before it
    commits offsets, waits for that buffer with a flush that gives up after 0.1 s without
    progress: on a busy machine it commits offsets whose table writes are not in the changelog
    yet, and a worker killed then restores tables that are behind its committed offsets. The
    worker therefore waits for its changelog records itself before it lets Faust acknowledge
    the records that made them.
    """

    def send_changelog(self, *args: Any, **kwargs: Any) -> FutureMessage:
        future: FutureMessage = super().send_changelog(*args, **kwargs)
        sends = _CHANGELOG_SENDS.get()
        if sends is not None:
            sends.append(future)
        return future


@contextmanager
def changelog_sends() -> Iterator[list[FutureMessage]]:
    """Collect the changelog records that table writes inside the block send (futures that
    resolve once Kafka acknowledged them)."""
    sends: list[FutureMessage] = []
    token = _CHANGELOG_SENDS.set(sends)
    try:
        yield sends
    finally:
        _CHANGELOG_SENDS.reset(token)


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


def write_in_context_of(event: faust.EventT[Any], write: Callable[[], None]) -> None:
    """Run ``write`` as if ``event`` were the record being processed: Faust takes the changelog
    partition and the store of a table write from its current-event context variable, and a batch
    applies its writes after the stream has moved on."""
    token = faust.streams._current_event.set(weakref.ref(event))
    try:
        write()
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
        raw = table.get(key.encode())
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
