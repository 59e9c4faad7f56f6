"""The three stages over in-memory state: the reference the Faust agents are checked against,
and the engine of the offline tools (replay dry runs, the normalisation benchmark).

``process`` takes one raw record and returns the events it causes, in order. The agents run the
same stage functions with changelog-backed tables in place of these dictionaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from chatsync.envelopes import RawEnvelope
from chatsync.events import EventSource
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

Event = DealOrMessageEvent | object


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


def version_key(deal_id: str, message_id: int) -> str:
    return f"{deal_id}:{message_id}"


@dataclass
class StageOne:
    """Stage 1 of one record: its inputs for stages 2 and 3 (released parked records included)."""

    deals: list[DealInput] = field(default_factory=list)
    customers: list[CustomerInput] = field(default_factory=list)


@dataclass
class MemoryNormaliser:
    connections: dict[str, ConnectionState] = field(default_factory=dict)
    deals: dict[str, DealState] = field(default_factory=dict)
    versions: dict[str, MessageVersion] = field(default_factory=dict)
    customers: dict[str, CustomerState] = field(default_factory=dict)

    def process(self, value: bytes, topic: str, partition: int, offset: int) -> list[object]:
        staged = self.stage_one(value, topic, partition, offset)
        events: list[object] = []
        for deal_input in staged.deals:
            events.extend(self.stage_two(deal_input))
        for customer_input in staged.customers:
            events.extend(self.stage_three(customer_input))
        return events

    def stage_one(self, value: bytes, topic: str, partition: int, offset: int) -> StageOne:
        envelope = read_envelope(value)
        observation = observe(envelope)
        result = StageOne()
        if observation is None:
            return result
        source = EventSource(topic=topic, partition=partition, offset=offset, kind=envelope.source)
        key = observation.connection_id or ""
        resolution = resolve(
            observation, source, envelope.received_at, state=self.connections.get(key),
            account_user_id=envelope.account_user_id if envelope.source != "botapi" else None,
            record=ParkedRecord(value=value.decode(), topic=topic, partition=partition,
                                offset=offset),
        )  # fmt: skip
        if resolution.state is not None:
            self.connections[key] = resolution.state
        result.deals.extend(resolution.deals)
        result.customers.extend(resolution.customers)
        for parked in resolution.released:
            again = self.stage_one(parked.value.encode(), parked.topic, parked.partition,
                                   parked.offset)  # fmt: skip
            result.deals.extend(again.deals)
            result.customers.extend(again.customers)
        return result

    def stage_two(self, inp: DealInput) -> list[DealOrMessageEvent]:
        known = {}
        for message_id in message_ids_of(inp):
            stored = self.versions.get(version_key(inp.deal_id, message_id))
            if stored is not None:
                known[message_id] = stored
        outcome = apply_to_deal(self.deals.get(inp.deal_id), known, inp)
        if outcome.deal is not None:
            self.deals[inp.deal_id] = outcome.deal
        for message_id, version in outcome.versions.items():
            self.versions[version_key(inp.deal_id, message_id)] = version
        return outcome.events

    def stage_three(self, inp: CustomerInput) -> list[object]:
        key = str(inp.profile.user_id)
        outcome = apply_to_customer(self.customers.get(key), inp)
        if outcome.state is not None:
            self.customers[key] = outcome.state
        return list(outcome.events)
