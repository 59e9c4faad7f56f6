"""Stage 1: who owns the conversation of an update, and what it changes (pure).

Telethon updates name their owner (the account). Bot API Business messages name only their
``business_connection_id``: the owner comes from the ``business_connection`` update, or from the
first outgoing message (in a private Business chat, an outgoing message's sender is the owner).
Until one of those arrives, the connection's records wait, in order, in its state (``parked``) and
are released the moment the owner is known. Raw Bot API records are keyed by connection, so a
connection's state and all its records share one partition and one order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from chatsync.events import EventSource
from chatsync.identity import deal_id
from chatsync.normalise.errors import NormaliseError
from chatsync.normalise.inputs import CustomerInput, DealInput, Profile
from chatsync.normalise.observations import Observation

MAX_PARKED = 10_000


class ParkedRecord(BaseModel):
    """A raw record waiting for its connection's owner: re-read when released."""

    model_config = ConfigDict(frozen=True)

    value: str
    topic: str
    partition: int
    offset: int


class ConnectionState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    connection_id: str
    owner_user_id: int | None = None
    owner: Profile | None = None
    enabled: bool = True
    can_reply: bool = False
    parked: list[ParkedRecord] = Field(default_factory=list)


@dataclass
class Resolution:
    state: ConnectionState | None
    deals: list[DealInput] = field(default_factory=list)
    customers: list[CustomerInput] = field(default_factory=list)
    released: list[ParkedRecord] = field(default_factory=list)
    parked: bool = False


def resolve(
    observation: Observation, source: EventSource, received_at: datetime, *,
    state: ConnectionState | None, account_user_id: int | None, record: ParkedRecord | None,
) -> Resolution:  # fmt: skip
    """Resolve one observation. ``record`` is the raw record, parked when the owner is unknown."""
    if account_user_id is not None:  # Telethon: the account is the owner
        return _inputs(observation, source, received_at, account_user_id, state=None)
    if observation.connection_id is None:
        raise NormaliseError("a Bot API update without a business connection")
    state = state or ConnectionState(connection_id=observation.connection_id)
    if observation.kind == "connection":
        info = observation.connection
        assert info is not None
        parked = list(state.parked)
        state = state.model_copy(update={
            "owner_user_id": info.owner.user_id, "owner": info.owner, "enabled": info.enabled,
            "can_reply": info.can_reply,
        })  # fmt: skip
        return Resolution(state=state.model_copy(update={"parked": []}), released=parked)
    if state.owner_user_id is None and observation.owner_hint is not None:
        # An outgoing message names the owner. Records parked before it come first, in order:
        # release them all and this one after them.
        known = state.model_copy(update={"owner_user_id": observation.owner_hint, "parked": []})
        if state.parked and record is not None:
            return Resolution(state=known, released=[*state.parked, record])
        return _inputs(observation, source, received_at, observation.owner_hint, known)
    if state.owner_user_id is None:
        return _park(state, record)
    return _inputs(observation, source, received_at, state.owner_user_id, state)


def _park(state: ConnectionState, record: ParkedRecord | None) -> Resolution:
    if record is None:
        raise NormaliseError(f"owner of business connection {state.connection_id} is unknown")
    if len(state.parked) >= MAX_PARKED:
        raise NormaliseError(
            f"owner of business connection {state.connection_id} is still unknown after "
            f"{MAX_PARKED} records; this one goes to the DLQ"
        )
    return Resolution(state=state.model_copy(update={"parked": [*state.parked, record]}),
                      parked=True)  # fmt: skip


def _inputs(
    observation: Observation, source: EventSource, received_at: datetime, owner: int,
    state: ConnectionState | None,
) -> Resolution:  # fmt: skip
    chat_id = observation.chat_id
    resolution = Resolution(state=state)
    if chat_id is None or observation.kind in ("connection", "profile"):
        if observation.kind == "profile" and observation.customer is not None:
            resolution.customers.append(_customer(observation.customer, observation, source, owner,
                                                  observation.customer.user_id))  # fmt: skip
        return resolution
    deal = deal_id(owner, chat_id)
    kind = observation.kind
    assert kind in ("message", "edit", "delete", "read")
    resolution.deals.append(DealInput(
        kind=kind, deal_id=deal, owner_user_id=owner, chat_id=chat_id, source=source,
        received_at=received_at, business_connection_id=observation.connection_id,
        connection_enabled=state.enabled if state else True, message=observation.message,
        message_ids=observation.message_ids, read_max_id=observation.read_max_id,
    ))  # fmt: skip
    if observation.customer is not None and (state is None or state.enabled):
        resolution.customers.append(_customer(observation.customer, observation, source, owner,
                                              chat_id))  # fmt: skip
    return resolution


def _customer(
    profile: Profile, observation: Observation, source: EventSource, owner: int, chat_id: int
) -> CustomerInput:
    return CustomerInput(
        profile=profile, observed_at=observation.occurred_at, deal_id=deal_id(owner, chat_id),
        owner_user_id=owner, source=source,
    )  # fmt: skip
