"""Stage 3: customer profiles -> customer.created / customer.updated, only on a real change (pure).

Observations are partial (a chat object has no language; a sender object may lack a username):
a field an observation does not carry keeps its stored value. Each field is the value of the
newest observation that says it (the greater value on a tie): an older observation fills only
what no newer one said, so the profile does not depend on the order observations arrive in, and
replays and out-of-order sources (two raw topics read side by side) converge on one profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from chatsync.events import CustomerCreated, CustomerData, CustomerUpdated
from chatsync.identity import customer_id, event_id
from chatsync.normalise.inputs import CustomerInput, Profile

_FIELDS = ("first_name", "last_name", "username", "language_code", "is_premium")


class CustomerState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: Profile
    observed_at: datetime  # the newest observation
    version: int = 1
    said_at: dict[str, datetime] = Field(
        default_factory=dict, description="per field: when the observation that set it was made"
    )

    def field_observed_at(self, name: str) -> datetime | None:
        """When the stored value of ``name`` was observed (None: no observation said it)."""
        if getattr(self.profile, name) is None:
            return None
        return self.said_at.get(name, self.observed_at)  # states stored before said_at existed


@dataclass
class CustomerOutcome:
    state: CustomerState | None
    events: list[CustomerCreated | CustomerUpdated] = field(default_factory=list)


def apply_to_customer(state: CustomerState | None, inp: CustomerInput) -> CustomerOutcome:
    if state is None:
        said = {name: inp.observed_at for name in _FIELDS if getattr(inp.profile, name) is not None}
        new = CustomerState(profile=inp.profile, observed_at=inp.observed_at, said_at=said)
        return CustomerOutcome(new, [_event(CustomerCreated, "customer.created", new, inp)])
    changes = _newer_fields(state, inp)
    merged = state.profile.model_copy(update=changes)
    said_at = {**state.said_at, **{name: inp.observed_at for name in changes}}
    observed_at = max(state.observed_at, inp.observed_at)
    if merged == state.profile:
        return CustomerOutcome(state.model_copy(update={"observed_at": observed_at,
                                                        "said_at": said_at}))  # fmt: skip
    new = CustomerState(profile=merged, observed_at=observed_at, version=state.version + 1,
                        said_at=said_at)  # fmt: skip
    return CustomerOutcome(new, [_event(CustomerUpdated, "customer.updated", new, inp)])


def _newer_fields(state: CustomerState, inp: CustomerInput) -> dict[str, object]:
    """The fields the observation says that win over the stored ones: newer, or on a tie the
    greater value (any fixed rule will do, as long as it does not depend on arrival order)."""
    changes: dict[str, object] = {}
    for name in _FIELDS:
        seen, stored = getattr(inp.profile, name), getattr(state.profile, name)
        if seen is None:
            continue
        stored_at = state.field_observed_at(name)
        if stored_at is None or (inp.observed_at, str(seen)) > (stored_at, str(stored)):
            changes[name] = seen
    return changes


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
