"""Stage 3: customer profiles -> customer.created / customer.updated, only on a real change (pure).

Observations are partial (a chat object has no language; a sender object may lack a username):
a field an observation does not carry keeps its stored value. An observation older than the one
that set the stored profile does not overwrite it, so replays and out-of-order sources converge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from chatsync.events import CustomerCreated, CustomerData, CustomerUpdated
from chatsync.identity import customer_id, event_id
from chatsync.normalise.inputs import CustomerInput, Profile

_FIELDS = ("first_name", "last_name", "username", "language_code", "is_premium")


class CustomerState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: Profile
    observed_at: datetime
    version: int = 1


@dataclass
class CustomerOutcome:
    state: CustomerState | None
    events: list[CustomerCreated | CustomerUpdated] = field(default_factory=list)


def apply_to_customer(state: CustomerState | None, inp: CustomerInput) -> CustomerOutcome:
    if state is None:
        new = CustomerState(profile=inp.profile, observed_at=inp.observed_at)
        return CustomerOutcome(new, [_event(CustomerCreated, "customer.created", new, inp)])
    if inp.observed_at < state.observed_at:
        return CustomerOutcome(state)
    merged = _merge(state.profile, inp.profile)
    if merged == state.profile:
        return CustomerOutcome(state.model_copy(update={"observed_at": inp.observed_at}))
    new = CustomerState(profile=merged, observed_at=inp.observed_at, version=state.version + 1)
    return CustomerOutcome(new, [_event(CustomerUpdated, "customer.updated", new, inp)])


def _merge(stored: Profile, seen: Profile) -> Profile:
    changes = {name: getattr(seen, name) for name in _FIELDS if getattr(seen, name) is not None}
    return stored.model_copy(update=changes)


def _event(
    kind: type[CustomerCreated] | type[CustomerUpdated], name: str, state: CustomerState,
    inp: CustomerInput,
) -> CustomerCreated | CustomerUpdated:  # fmt: skip
    profile = state.profile
    data = CustomerData(customer_id=customer_id(profile.user_id), user_id=profile.user_id,
                        version=state.version,
                        **{name: getattr(profile, name) for name in _FIELDS})  # fmt: skip
    identity = profile.model_dump_json()
    return kind(
        event_id=event_id(name, data.customer_id, identity), occurred_at=inp.observed_at,
        deal_id=inp.deal_id, owner_user_id=inp.owner_user_id, source=inp.source, data=data,
    )  # fmt: skip
