"""Normalised events on ``chat.deals``, ``chat.customers``, ``chat.messages``: a public contract.

These pydantic models are the single source of truth: the JSON Schemas under ``schemas/`` and the
AsyncAPI document are generated from them (``python -m chatsync.schemas``), and a test fails when
the generated files drift from the models. Schema version 1; a change that breaks a consumer gets
a new version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EVENT_SCHEMA_VERSION: Literal[1] = 1
SourceKind = Literal["botapi", "mtproto", "backfill", "export"]
Direction = Literal["in", "out"]
MediaType = Literal[
    "photo", "video", "animation", "voice", "audio", "document", "sticker", "video_note",
    "contact", "location", "venue", "poll", "dice", "game", "story", "other",
]  # fmt: skip


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EventSource(_Model):
    """Where the raw update that caused the event was read."""

    topic: str
    partition: int
    offset: int
    kind: SourceKind


class Entity(_Model):
    """A text entity; offsets and lengths count UTF-16 code units, as Telegram does."""

    type: str
    offset: int
    length: int
    url: str | None = None
    user_id: int | None = None
    language: str | None = None
    custom_emoji_id: str | None = None


class FileReference(_Model):
    """How to fetch a file again: Bot API file ids, or MTProto document/photo references."""

    file_id: str | None = None
    file_unique_id: str | None = None
    mtproto_id: int | None = None
    mtproto_access_hash: int | None = None
    mtproto_file_reference: str | None = Field(default=None, description="base64")


class Media(_Model):
    type: MediaType
    file: FileReference | None = None
    mime_type: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    width: int | None = None
    height: int | None = None
    duration: int | None = None
    emoji: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict, description="type-specific details")


class Forward(_Model):
    """Where a forwarded message came from."""

    origin: Literal["user", "hidden_user", "chat", "channel", "unknown"]
    date: datetime | None = None
    sender_user_id: int | None = None
    sender_name: str | None = None
    chat_id: int | None = None
    message_id: int | None = None


class MessageData(_Model):
    message_id: int
    direction: Direction
    sent_by_bot: bool = Field(description="sent by the Business bot on the owner's behalf")
    sender_id: int | None
    text: str | None = Field(description="the text, or the caption of a media message")
    entities: list[Entity] = Field(default_factory=list)
    media: Media | None = None
    media_group_id: str | None = None
    reply_to_message_id: int | None = None
    forward: Forward | None = None
    date: datetime
    edit_date: datetime | None = None
    is_deleted: bool = False
    version: int = Field(description="grows with each accepted change of this message")


class DealData(_Model):
    deal_id: str
    owner_user_id: int
    customer_id: str
    chat_id: int
    source: Literal["botapi", "mtproto"] = Field(description="the producer that first saw it")
    business_connection_id: str | None = None
    last_message: MessageData | None = None
    last_message_at: datetime | None = None
    message_count: int
    unread_count: int
    created_at: datetime
    updated_at: datetime
    version: int


class CustomerData(_Model):
    customer_id: str
    user_id: int
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool | None = None
    version: int = Field(description="grows with each real change of the profile")


class _Event(_Model):
    event_id: str = Field(description="deterministic: a replay emits the same id")
    schema_version: Literal[1] = EVENT_SCHEMA_VERSION
    occurred_at: datetime
    deal_id: str
    owner_user_id: int
    source: EventSource


class DealCreated(_Event):
    event_type: Literal["deal.created"] = "deal.created"
    data: DealData


class DealUpdated(_Event):
    event_type: Literal["deal.updated"] = "deal.updated"
    data: DealData


class CustomerCreated(_Event):
    event_type: Literal["customer.created"] = "customer.created"
    data: CustomerData


class CustomerUpdated(_Event):
    event_type: Literal["customer.updated"] = "customer.updated"
    data: CustomerData


class MessageCreated(_Event):
    event_type: Literal["message.created"] = "message.created"
    data: MessageData


class MessageEdited(_Event):
    event_type: Literal["message.edited"] = "message.edited"
    data: MessageData


class MessageDeleted(_Event):
    event_type: Literal["message.deleted"] = "message.deleted"
    data: MessageData


DealEvent = DealCreated | DealUpdated
CustomerEvent = CustomerCreated | CustomerUpdated
MessageEvent = MessageCreated | MessageEdited | MessageDeleted
Event = Annotated[
    DealCreated | DealUpdated | CustomerCreated | CustomerUpdated | MessageCreated | MessageEdited
    | MessageDeleted,
    Field(discriminator="event_type"),
]  # fmt: skip
EVENT_TYPES: dict[str, type[_Event]] = {
    "deal.created": DealCreated,
    "deal.updated": DealUpdated,
    "customer.created": CustomerCreated,
    "customer.updated": CustomerUpdated,
    "message.created": MessageCreated,
    "message.edited": MessageEdited,
    "message.deleted": MessageDeleted,
}


def encode_event(event: _Event) -> bytes:
    return event.model_dump_json().encode()
