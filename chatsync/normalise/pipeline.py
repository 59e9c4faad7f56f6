"""The three stages over a state store: one implementation for every path.

The Faust agents run it over changelog-backed tables (``chatsync.tables.state``); the offline
tools (replay dry runs, the normalisation benchmark, the tests) over dictionaries
(``MemoryState``). ``MemoryNormaliser.process`` runs all three stages for one raw record and
returns its events in order: the reference the worker is checked against.

A stage reads state, but does not write it: it returns its writes (``Staged.commit``), and the
caller applies them once what the stage produced is safely published. The worker relies on this
to never have tables ahead of its output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from pydantic import ValidationError

from chatsync.envelopes import RawEnvelope
from chatsync.events import CustomerCreated, CustomerUpdated, EventSource
from chatsync.normalise.botapi import observe_botapi
from chatsync.normalise.connections import ConnectionState, ParkedRecord, resolve
from chatsync.normalise.customers import CustomerState, apply_to_customer
from chatsync.normalise.deals import (
    DealOrMessageEvent,
    DealState,
    MessageVersion,
    apply_to_deal,
    message_ids_of,
)
from chatsync.normalise.errors import NormaliseError
from chatsync.normalise.inputs import CustomerInput, DealInput
from chatsync.normalise.mtproto import observe_mtproto
from chatsync.normalise.observations import Observation

NormalisedEvent = DealOrMessageEvent | CustomerCreated | CustomerUpdated


class NormaliserState(Protocol):
    """Where the stages keep their state; each stage reads only keys of its own partition."""

    def connection(self, connection_id: str) -> ConnectionState | None: ...
    def set_connection(self, state: ConnectionState) -> None: ...
    def deal(self, deal_id: str) -> DealState | None: ...
    def set_deal(self, state: DealState) -> None: ...
    def version(self, deal_id: str, message_id: int) -> MessageVersion | None: ...
    def set_version(self, deal_id: str, version: MessageVersion) -> None: ...
    def customer(self, user_id: int) -> CustomerState | None: ...
    def set_customer(self, state: CustomerState) -> None: ...


def read_envelope(value: bytes) -> RawEnvelope:
    try:
        return RawEnvelope.from_bytes(value)
    except ValidationError as exc:
        raise NormaliseError(f"not a raw envelope: {exc.errors()[0]['msg']}") from None


def observe(envelope: RawEnvelope) -> Observation | None:
    """The adapter for the envelope's source."""
    if envelope.source == "botapi":
        return observe_botapi(envelope)
    return observe_mtproto(envelope)


@dataclass
class Staged:
    """What a stage produced, and the state writes to apply once that is published."""

    writes: list[Callable[[], None]] = field(default_factory=list)

    def commit(self) -> None:
        for write in self.writes:
            write()
        self.writes.clear()


@dataclass
class StageOne(Staged):
    """Stage 1 of one record: its inputs for stages 2 and 3 (released parked records included)."""

    deals: list[DealInput] = field(default_factory=list)
    customers: list[CustomerInput] = field(default_factory=list)


@dataclass
class StageEvents(Staged):
    events: list[NormalisedEvent] = field(default_factory=list)


class Normaliser:
    def __init__(self, state: NormaliserState) -> None:
        self.state = state

    def stage_one(self, value: bytes, topic: str, partition: int, offset: int) -> StageOne:
        result = StageOne()
        self._stage_one(value, topic, partition, offset, result, {})
        return result

    def _stage_one(
        self, value: bytes, topic: str, partition: int, offset: int, result: StageOne,
        pending: dict[str, ConnectionState],
    ) -> None:  # fmt: skip
        envelope = read_envelope(value)
        observation = observe(envelope)
        if observation is None:
            return
        source = EventSource(topic=topic, partition=partition, offset=offset, kind=envelope.source)
        key = observation.connection_id
        current = (pending.get(key) or self.state.connection(key)) if key else None
        resolution = resolve(
            observation, source, envelope.received_at, state=current,
            account_user_id=envelope.account_user_id if envelope.source != "botapi" else None,
            record=ParkedRecord(value=value.decode(), topic=topic, partition=partition,
                                offset=offset),
        )  # fmt: skip
        if resolution.state is not None and resolution.state != current:
            new_state = resolution.state
            pending[new_state.connection_id] = new_state
            result.writes.append(lambda: self.state.set_connection(new_state))
        result.deals.extend(resolution.deals)
        result.customers.extend(resolution.customers)
        for parked in resolution.released:
            self._stage_one(parked.value.encode(), parked.topic, parked.partition, parked.offset,
                            result, pending)  # fmt: skip

    def stage_two(self, inp: DealInput, position: int) -> StageEvents:
        """Apply one deal input; ``position`` grows with every input of the deal (the worker
        passes the input's offset in its topic).

        Positions make re-processing safe after a crash that left only part of a batch's table
        writes behind (the deal's or a message version's write can land without the other): a
        stored version counts only when an earlier input wrote it, and a deal that already
        applied this input only gets the input's message versions again (and re-emits its
        message events, with the same ids), never a second change of its own."""
        known = {}
        for message_id in message_ids_of(inp):
            stored = self.state.version(inp.deal_id, message_id)
            if stored is not None and not _at_or_after(stored.input_position, position):
                known[message_id] = stored
        current = self.state.deal(inp.deal_id)
        if current is not None and _at_or_after(current.input_position, position):
            created_later = _at_or_after(current.created_position, position + 1)
            outcome = apply_to_deal(None if created_later else current, known, inp)
            messages: list[NormalisedEvent] = [
                event for event in outcome.events if not event.event_type.startswith("deal.")
            ]
            staged = StageEvents(events=messages)
        else:
            outcome = apply_to_deal(current, known, inp)
            staged = StageEvents(events=list(outcome.events))
            if outcome.deal is not None and outcome.events:
                created = position if current is None else current.created_position
                deal = outcome.deal.model_copy(
                    update={"input_position": position, "created_position": created}
                )
                staged.writes.append(lambda: self.state.set_deal(deal))
        for version in outcome.versions.values():
            positioned = version.model_copy(update={"input_position": position})
            staged.writes.append(partial(self.state.set_version, inp.deal_id, positioned))
        return staged

    def stage_three(self, inp: CustomerInput) -> StageEvents:
        current = self.state.customer(inp.profile.user_id)
        outcome = apply_to_customer(current, inp)
        staged = StageEvents(events=list(outcome.events))
        new_state = outcome.state
        if new_state is not None and new_state != current:
            staged.writes.append(lambda: self.state.set_customer(new_state))
        return staged


def _at_or_after(stored: int | None, position: int) -> bool:
    """Whether a write made at ``stored`` (None: before positions were kept) is at or after
    ``position``."""
    return stored is not None and stored >= position


@dataclass
class MemoryState:
    connections: dict[str, ConnectionState] = field(default_factory=dict)
    deals: dict[str, DealState] = field(default_factory=dict)
    versions: dict[tuple[str, int], MessageVersion] = field(default_factory=dict)
    customers: dict[int, CustomerState] = field(default_factory=dict)

    def connection(self, connection_id: str) -> ConnectionState | None:
        return self.connections.get(connection_id)

    def set_connection(self, state: ConnectionState) -> None:
        self.connections[state.connection_id] = state

    def deal(self, deal_id: str) -> DealState | None:
        return self.deals.get(deal_id)

    def set_deal(self, state: DealState) -> None:
        self.deals[state.deal_id] = state

    def version(self, deal_id: str, message_id: int) -> MessageVersion | None:
        return self.versions.get((deal_id, message_id))

    def set_version(self, deal_id: str, version: MessageVersion) -> None:
        self.versions[(deal_id, version.content.message_id)] = version

    def customer(self, user_id: int) -> CustomerState | None:
        return self.customers.get(user_id)

    def set_customer(self, state: CustomerState) -> None:
        self.customers[state.profile.user_id] = state


class MemoryNormaliser(Normaliser):
    """All three stages in one process, over dictionaries."""

    def __init__(self) -> None:
        self.memory = MemoryState()
        self.deal_inputs = 0  # the position of the last deal input
        super().__init__(self.memory)

    @property
    def deals(self) -> dict[str, DealState]:
        return self.memory.deals

    def process(
        self, value: bytes, topic: str, partition: int, offset: int
    ) -> list[NormalisedEvent]:
        staged = self.stage_one(value, topic, partition, offset)
        staged.commit()
        events: list[NormalisedEvent] = []
        for deal_input in staged.deals:
            self.deal_inputs += 1
            step = self.stage_two(deal_input, self.deal_inputs)
            step.commit()
            events.extend(step.events)
        for customer_input in staged.customers:
            step = self.stage_three(customer_input)
            step.commit()
            events.extend(step.events)
        return events
