"""What the REST API returns: the response side of its contract (OpenAPI schemas come from here).

Shapes follow the older DRF API: cursor pages are ``{"next", "previous", "results"}``. Messages
never carry Telegram file ids or MTProto file references: clients get media type and metadata.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from chatsync.events import Entity, Forward, MessageData

Item = TypeVar("Item")


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class CustomerOut(_Out):
    id: str
    first_name: str | None
    last_name: str | None
    username: str | None
    avatar_url: str | None = Field(description="a short-lived link to the profile photo")


class MediaOut(_Out):
    type: str
    mime_type: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    width: int | None = None
    height: int | None = None
    duration: int | None = None
    emoji: str | None = None
    service: str | None = Field(
        None, description="a service message (type `other`): what happened, e.g. `pin_message`"
    )


def service_name(action: str | None) -> str | None:
    """``MessageActionPinMessage`` (Telethon's action type) as ``pin_message``."""
    if not action:
        return None
    name = action.removeprefix("MessageAction")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() or None


class EditOut(_Out):
    """An earlier version of a message, replaced by an edit."""

    version: int
    edit_date: datetime | None
    text: str | None
    entities: list[Entity] = Field(default_factory=list)


class MessageOut(_Out):
    id: int = Field(description="the Telegram message id")
    deal_id: str
    direction: Literal["in", "out"]
    sent_by_bot: bool
    sender_id: int | None
    text: str | None
    entities: list[Entity]
    media: MediaOut | None
    media_group_id: str | None
    reply_to_message_id: int | None
    forward: Forward | None
    date: datetime
    edit_date: datetime | None
    is_deleted: bool
    edits: list[EditOut] = Field(default_factory=list, description="earlier versions, oldest first")

    @classmethod
    def from_data(cls, deal_id: str, data: MessageData, edits: list[EditOut]) -> MessageOut:
        media = None
        if data.media is not None:
            media = MediaOut(
                **data.media.model_dump(exclude={"file", "extra"}),
                service=service_name(data.media.extra.get("service")),
            )
        return cls(
            id=data.message_id, deal_id=deal_id, direction=data.direction,
            sent_by_bot=data.sent_by_bot, sender_id=data.sender_id, text=data.text,
            entities=data.entities, media=media, media_group_id=data.media_group_id,
            reply_to_message_id=data.reply_to_message_id, forward=data.forward, date=data.date,
            edit_date=data.edit_date, is_deleted=data.is_deleted, edits=edits,
        )  # fmt: skip


class DealOut(_Out):
    id: str
    owner_user_id: int
    source: Literal["botapi", "mtproto"]
    customer: CustomerOut
    last_message: MessageOut | None
    last_message_at: datetime | None
    unread_count: int
    message_count: int
    created_at: datetime
    updated_at: datetime


class DealDetailOut(DealOut):
    messages: list[MessageOut] = Field(description="the newest messages, oldest first")
    messages_next: str | None = Field(description="URL of the page of older messages")


class Page(_Out, Generic[Item]):
    next: str | None
    previous: str | None
    results: list[Item]


class ReadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: int | None = Field(None, ge=1, description="mark read up to this message")


class Accepted(_Out):
    status: Literal["accepted"] = "accepted"
    command_id: str


class ErrorDetail(_Out):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorOut(_Out):
    error: ErrorDetail


class DealPage(Page[DealOut]):
    """A page of deals, newest activity first."""


class MessagePage(Page[MessageOut]):
    """A page of one deal's messages, oldest first; ``next`` leads to older ones."""
