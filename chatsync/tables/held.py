"""Table writes held back for a batch of records, readable before they are applied.

The agents process records in batches: every record of a batch runs its stage and at once
``commit``s its writes here, so the next record of the batch reads them; what the batch produced
is then sent and acknowledged by Kafka as one batch, and only then are the held writes applied to
the real tables (``flush``). A key written several times in one batch is applied once, with its
last value, so the changelogs get one record per key and batch instead of one per record.

Each held write remembers the record (``tag``) that made it last: the worker applies it in that
record's context, since Faust puts a table write in the changelog partition and the store of the
record being processed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import partial
from typing import Any, TypeVar

from chatsync.normalise.connections import ConnectionState
from chatsync.normalise.customers import CustomerState
from chatsync.normalise.deals import DealState, MessageVersion
from chatsync.normalise.pipeline import NormaliserState

Value = TypeVar("Value")
Write = Callable[[], None]


class HeldWrites:
    """A NormaliserState over ``base`` whose writes wait for ``flush``."""

    def __init__(self, base: NormaliserState) -> None:
        self._base = base
        self._held: dict[Hashable, tuple[Any, Any, Write]] = {}
        self.tag: Any = None  # the record whose writes are being held (set by the caller)

    def __len__(self) -> int:
        return len(self._held)

    def flush(self, apply: Callable[[Any, Write], None]) -> None:
        """Hand every held write, with the record that made it, to ``apply``; hold nothing more."""
        held, self._held = self._held, {}
        for tag, _, write in held.values():
            apply(tag, write)

    def discard(self) -> None:
        self._held.clear()

    def _read(self, key: Hashable, read: Callable[[], Value | None]) -> Value | None:
        held = self._held.get(key)
        return read() if held is None else held[1]

    def _hold(self, key: Hashable, value: Any, write: Write) -> None:
        self._held.pop(key, None)  # re-inserted last: applied in the order of the last writes
        self._held[key] = (self.tag, value, write)

    def connection(self, connection_id: str) -> ConnectionState | None:
        return self._read(("connection", connection_id),
                          partial(self._base.connection, connection_id))  # fmt: skip

    def set_connection(self, state: ConnectionState) -> None:
        self._hold(("connection", state.connection_id), state,
                   partial(self._base.set_connection, state))  # fmt: skip

    def deal(self, deal_id: str) -> DealState | None:
        return self._read(("deal", deal_id), partial(self._base.deal, deal_id))

    def set_deal(self, state: DealState) -> None:
        self._hold(("deal", state.deal_id), state, partial(self._base.set_deal, state))

    def version(self, deal_id: str, message_id: int) -> MessageVersion | None:
        return self._read(("version", deal_id, message_id),
                          partial(self._base.version, deal_id, message_id))  # fmt: skip

    def set_version(self, deal_id: str, version: MessageVersion) -> None:
        self._hold(("version", deal_id, version.content.message_id), version,
                   partial(self._base.set_version, deal_id, version))  # fmt: skip

    def customer(self, user_id: int) -> CustomerState | None:
        return self._read(("customer", user_id), partial(self._base.customer, user_id))

    def set_customer(self, state: CustomerState) -> None:
        self._hold(("customer", state.profile.user_id), state,
                   partial(self._base.set_customer, state))  # fmt: skip
