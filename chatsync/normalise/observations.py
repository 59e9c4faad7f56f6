"""What an adapter reads out of one raw update, before its owner is known (pure data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from chatsync.events import MessageData
from chatsync.normalise.inputs import Profile


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    connection_id: str
    owner: Profile
    enabled: bool
    can_reply: bool


@dataclass(frozen=True, slots=True)
class Observation:
    """One update's meaning. ``owner_hint`` is the owner's user id when the update reveals it
    (a connection, an outgoing message); Telethon updates always know it (the account)."""

    kind: Literal["connection", "message", "edit", "delete", "read", "profile"]
    occurred_at: datetime
    connection_id: str | None = None
    chat_id: int | None = None
    owner_hint: int | None = None
    connection: ConnectionInfo | None = None
    message: MessageData | None = None
    message_ids: list[int] = field(default_factory=list)
    read_max_id: int | None = None
    customer: Profile | None = None
