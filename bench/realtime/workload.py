"""The updates bench.realtime posts, and the frames each one must produce.

The feed is ``stream_updates`` (realistic Business updates; every owner connects first). Each
update is run through ``MemoryNormaliser`` (the reference the worker's output equals, see
bench.normalise) in the order it is posted, so the ids of the ``deal.*`` and ``message.*`` events
it produces are known before it is sent: event ids are deterministic, so a frame names the update
it comes from. Customers met on the way are kept as ``customers`` rows (what the PostgreSQL sink
would have stored), to be written before the updates that need them are sent.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chatsync.events import CustomerCreated, CustomerUpdated
from chatsync.identity import event_id
from chatsync.infra.sinks.rows import Row, customer_row
from chatsync.normalise.pipeline import MemoryNormaliser, NormalisedEvent
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo.scenario import stream_updates

EVENT_ID_CHARS = 36  # a UUID in its text form: what the sockets read out of each frame


@dataclass(frozen=True, slots=True)
class Event:
    """A ``deal.*`` or ``message.*`` event: one frame on every socket of its owner."""

    event_id: str
    owner: int
    role: str  # "deals" or "messages": the topic it is published on
    key: bytes
    value: bytes
    aliases: tuple[str, ...] = ()  # ids the worker may give the same frame (see ``_aliases``)

    def renamed(self, tag: str) -> Event:
        """The same event under another id of the same length (for the baseline's direct
        produce, so its frames are told apart from the worker's)."""
        new_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}:{self.event_id}"))
        value = self.value.replace(self.event_id.encode(), new_id.encode(), 1)
        return Event(new_id, self.owner, self.role, self.key, value)


@dataclass(frozen=True, slots=True)
class Entry:
    """One update: the POST body and the events it produces (none for some, e.g. connections)."""

    body: bytes
    events: tuple[Event, ...]


class Workload:
    """The feed, normalised ahead of use. ``take`` hands out entries in order, once each."""

    def __init__(self, *, seed: int, owners: int, customers_per_owner: int) -> None:
        self._feed: Iterator[dict[str, Any]] = stream_updates(
            10**9, seed=seed, owners=owners, customers_per_owner=customers_per_owner
        )
        self._normaliser = MemoryNormaliser()
        self._ahead: list[Entry] = []
        self._offset = 0
        self._owners: dict[int, None] = {}
        self.customers: dict[str, Row] = {}  # not yet written to PostgreSQL
        self.owner_count = owners

    def owners(self) -> list[int]:
        """Every owner's user id (they all connect first, so the first updates name them)."""
        self._extend(self.owner_count)
        return list(self._owners)

    def peek(self, count: int) -> list[Entry]:
        self._extend(count)
        return self._ahead[:count]

    def take(self, count: int) -> list[Entry]:
        taken = self.peek(count)
        del self._ahead[:count]
        return taken

    def _extend(self, count: int) -> None:
        while len(self._ahead) < count:
            self._ahead.append(self._next())

    def _next(self) -> Entry:
        update = next(self._feed)
        connection = update.get("business_connection")
        if connection is not None:
            self._owners.setdefault(int(connection["user"]["id"]), None)
        body = json.dumps(update, ensure_ascii=False).encode()
        envelope = botapi_envelope(update, describe_update(update), None)
        produced = self._normaliser.process(envelope.to_bytes(body), "raw", 0, self._offset)
        self._offset += 1
        return Entry(body, tuple(self._framed(produced)))

    def _framed(self, produced: list[NormalisedEvent]) -> Iterator[Event]:
        triggers = [event.event_id for event in produced if event.event_type.startswith("mes")]
        for event in produced:
            if isinstance(event, CustomerCreated | CustomerUpdated):
                row = customer_row(event)
                self.customers[row["id"]] = row
                continue
            role = "deals" if event.event_type.startswith("deal.") else "messages"
            yield Event(event.event_id, event.owner_user_id, role, event.deal_id.encode(),
                        event.model_dump_json().encode(), _aliases(event, triggers))  # fmt: skip


def _aliases(event: NormalisedEvent, triggers: list[str]) -> tuple[str, ...]:
    """The other id a deal event may carry. The webhook answers concurrent requests, so two
    updates of one new chat can reach Kafka in the other order than they were sent (Telegram's
    parallel webhook connections do the same); then the deal is created by the other message,
    and its ``deal.created`` and ``deal.updated`` swap names: same trigger, other event type, so
    another id. Message events are named by the message alone and keep their ids."""
    other = {"deal.created": "deal.updated", "deal.updated": "deal.created"}.get(event.event_type)
    if other is None:
        return ()
    for trigger in triggers:
        if event_id(event.event_type, event.deal_id, trigger) == event.event_id:
            return (event_id(other, event.deal_id, trigger),)
    return ()
