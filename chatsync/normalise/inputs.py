"""What the stages hand each other: serialisable, keyed, and free of source-specific shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chatsync.events import EventSource, MessageData


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Profile(_Model):
    """What one observation says about a Telegram user; None means "not said", not "empty"."""

    user_id: int
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool | None = None


class DealInput(_Model):
    """One change to one conversation, resolved to its owner (stage 1 -> stage 2)."""

    kind: Literal["message", "edit", "delete", "read"]
    deal_id: str
    owner_user_id: int
    chat_id: int
    source: EventSource
    received_at: datetime
    business_connection_id: str | None = None
    connection_enabled: bool = True
    message: MessageData | None = None
    message_ids: list[int] = Field(default_factory=list)
    read_max_id: int | None = None


class CustomerInput(_Model):
    """A profile seen in a conversation (stage 1 -> stage 3)."""

    profile: Profile
    observed_at: datetime
    deal_id: str
    owner_user_id: int
    source: EventSource
