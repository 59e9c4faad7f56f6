"""What a Bot API update is, read from its JSON alone (pure functions, no I/O).

Telegram adds update types and fields over time. Anything unknown is accepted and kept: the
envelope carries the payload as it came, and only the routing fields are read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiogram.types import Update
from pydantic import ValidationError

from chatsync.envelopes import RawEnvelope

BUSINESS_UPDATE_TYPES = (
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
)


class InvalidUpdate(ValueError):
    """The JSON is not a Telegram update at all (it has no integer ``update_id``)."""


@dataclass(frozen=True, slots=True)
class UpdateInfo:
    update_id: int
    update_type: str
    chat_id: int | None
    business_connection_id: str | None


def describe_update(payload: object) -> UpdateInfo:
    """Routing facts of an update; InvalidUpdate when it is not shaped like one."""
    if not isinstance(payload, dict):
        raise InvalidUpdate("an update is a JSON object")
    update_id = payload.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise InvalidUpdate("update_id must be an integer")
    update_type = next((key for key in payload if key != "update_id"), "empty")
    body = payload.get(update_type)
    chat_id, connection_id = None, None
    if isinstance(body, dict):
        chat = body.get("chat")
        chat_id = _int_or_none(chat.get("id")) if isinstance(chat, dict) else None
        connection = (
            body.get("id")
            if update_type == "business_connection"
            else body.get("business_connection_id")
        )
        connection_id = connection if isinstance(connection, str) else None
    return UpdateInfo(update_id, update_type, chat_id, connection_id)


def validation_error(payload: dict[str, Any]) -> str | None:
    """None when aiogram's Update model accepts the payload, else a short description.

    aiogram keeps unknown fields and ignores unknown update types, so only a known object with
    a wrong shape (a missing required field, a wrong type) fails.
    """
    try:
        Update.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{exc.error_count()} validation error(s); first at {where}: {first['msg']}"
    return None


def botapi_envelope(payload: dict[str, Any], info: UpdateInfo, bot_id: int | None) -> RawEnvelope:
    return RawEnvelope(
        source="botapi",
        update_type=info.update_type,
        update_id=info.update_id,
        bot_id=bot_id,
        business_connection_id=info.business_connection_id,
        chat_id=info.chat_id,
        payload=payload,
    )


def bot_id_from_token(token: str | None) -> int | None:
    """A bot token starts with the bot's user id: ``<id>:<secret>``."""
    if not token:
        return None
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else None


def dedupe_key(bot_id: int | None, update_id: int) -> str:
    return f"botapi:{bot_id}:{update_id}"


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
