"""Bot API message JSON -> MessageData (pure). Telegram Desktop exports and the Bot API share the
shape of entities, so the helpers here are reused by the other adapters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chatsync.events import Entity, FileReference, Forward, Media, MediaType, MessageData
from chatsync.normalise.errors import NormaliseError

JsonDict = dict[str, Any]
# Order matters: an animation message also carries "document", a photo caption is not a type.
_MEDIA_KEYS: tuple[MediaType, ...] = (
    "animation", "photo", "video", "video_note", "voice", "audio", "document", "sticker",
    "contact", "location", "venue", "poll", "dice", "game", "story",
)  # fmt: skip
_FILE_DETAILS = ("mime_type", "file_name", "file_size", "width", "height", "duration", "emoji")


def timestamp(value: Any, field: str) -> datetime:
    if not isinstance(value, int) or isinstance(value, bool):
        raise NormaliseError(f"{field} must be a Unix timestamp, got {value!r}")
    return datetime.fromtimestamp(value, UTC)


def version_of(date: datetime, edit_date: datetime | None) -> int:
    """A message's version: the time of its latest content, in seconds."""
    return int((edit_date or date).timestamp())


def botapi_message(message: JsonDict) -> MessageData:
    """A Bot API Message object as chatsync's MessageData (``version`` from its dates)."""
    try:
        chat_id = message["chat"]["id"]
        message_id = message["message_id"]
    except (KeyError, TypeError) as exc:
        raise NormaliseError(f"a message needs chat.id and message_id ({exc!r} missing)") from None
    sender = message.get("from") or {}
    date = timestamp(message.get("date"), "date")
    edit_date = timestamp(message["edit_date"], "edit_date") if "edit_date" in message else None
    reply = message.get("reply_to_message")
    return MessageData(
        message_id=message_id,
        direction="in" if sender.get("id") == chat_id else "out",
        sent_by_bot="sender_business_bot" in message,
        sender_id=sender.get("id"),
        text=message.get("text", message.get("caption")),
        entities=entities(message.get("entities") or message.get("caption_entities") or []),
        media=_media(message),
        media_group_id=message.get("media_group_id"),
        reply_to_message_id=reply.get("message_id") if isinstance(reply, dict) else None,
        forward=_forward(message.get("forward_origin")),
        date=date,
        edit_date=edit_date,
        version=version_of(date, edit_date),
    )


def entities(raw: list[JsonDict]) -> list[Entity]:
    result = []
    for item in raw:
        user = item.get("user")
        result.append(Entity(
            type=item["type"], offset=item["offset"], length=item["length"], url=item.get("url"),
            user_id=user.get("id") if isinstance(user, dict) else None,
            language=item.get("language"), custom_emoji_id=item.get("custom_emoji_id"),
        ))  # fmt: skip
    return result


def _media(message: JsonDict) -> Media | None:
    kind = next((key for key in _MEDIA_KEYS if key in message), None)
    if kind is None:
        return None
    value = message[kind]
    if kind == "photo":  # sizes, smallest first: the largest is the photo
        value = value[-1] if isinstance(value, list) and value else {}
    if not isinstance(value, dict):
        value = {}
    file = None
    if "file_id" in value:
        file = FileReference(file_id=value["file_id"], file_unique_id=value.get("file_unique_id"))
    details = {key: value[key] for key in _FILE_DETAILS if key in value}
    extra = {k: v for k, v in value.items() if k not in _FILE_DETAILS and not k.startswith("file_")
             and k not in ("thumbnail", "thumb")}  # fmt: skip
    return Media(type=kind, file=file, extra=extra, **details)


def _forward(origin: Any) -> Forward | None:
    if not isinstance(origin, dict):
        return None
    kind = origin.get("type")
    date = timestamp(origin["date"], "forward_origin.date") if "date" in origin else None
    if kind == "user":
        return Forward(
            origin="user", date=date, sender_user_id=(origin.get("sender_user") or {}).get("id")
        )
    if kind == "hidden_user":
        return Forward(origin="hidden_user", date=date, sender_name=origin.get("sender_user_name"))
    if kind in ("chat", "channel"):
        chat = origin.get("sender_chat") or origin.get("chat") or {}
        return Forward(origin=kind, date=date, chat_id=chat.get("id"),
                       message_id=origin.get("message_id"),
                       sender_name=origin.get("author_signature") or chat.get("title"))  # fmt: skip
    return Forward(origin="unknown", date=date)
