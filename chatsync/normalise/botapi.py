"""Adapter: a Bot API Business update (raw envelope) -> an Observation (pure).

Besides Telegram's own updates it reads one record type of chatsync's: ``chatsync_read_marked``,
written by the command executor after ``readBusinessMessage`` succeeded (Telegram sends no update
for it). Its payload is ``{"business_connection_id", "chat": {"id"}, "message_id"}``; it becomes
a read observation, keyed by its connection like every Business record, so it is ordered with
the connection's messages.
"""

from __future__ import annotations

from typing import Any

from chatsync.envelopes import RawEnvelope
from chatsync.normalise.errors import NormaliseError
from chatsync.normalise.inputs import Profile
from chatsync.normalise.messages import botapi_message, timestamp
from chatsync.normalise.observations import ConnectionInfo, Observation

READ_MARKED = "chatsync_read_marked"


def observe_botapi(envelope: RawEnvelope) -> Observation | None:
    """What a Business update says; None for update types chatsync does not normalise."""
    body = envelope.payload.get(envelope.update_type)
    if envelope.update_type == "business_connection":
        return _connection(_object(body, envelope.update_type))
    if envelope.update_type in ("business_message", "edited_business_message"):
        message = _object(body, envelope.update_type)
        data = botapi_message(message)
        chat_id = message["chat"]["id"]
        sender = message.get("from") or {}
        return Observation(
            kind="message" if envelope.update_type == "business_message" else "edit",
            connection_id=_connection_id(message), chat_id=chat_id,
            owner_hint=sender.get("id") if data.direction == "out" else None,
            message=data, customer=_customer(message), occurred_at=data.edit_date or data.date,
        )  # fmt: skip
    if envelope.update_type == "deleted_business_messages":
        deleted = _object(body, envelope.update_type)
        ids = deleted.get("message_ids")
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise NormaliseError("deleted_business_messages.message_ids must be a list of ints")
        return Observation(
            kind="delete", connection_id=_connection_id(deleted),
            chat_id=_chat_id(deleted), message_ids=ids, occurred_at=envelope.received_at,
        )  # fmt: skip
    if envelope.update_type == READ_MARKED:
        return _read_marked(envelope)
    return None


def _read_marked(envelope: RawEnvelope) -> Observation:
    body = envelope.payload
    message_id = body.get("message_id")
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise NormaliseError(f"{READ_MARKED}.message_id must be an integer")
    return Observation(
        kind="read", connection_id=_connection_id(body), chat_id=_chat_id(body),
        read_max_id=message_id, occurred_at=envelope.received_at,
    )  # fmt: skip


def _object(body: Any, name: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise NormaliseError(f"{name} must be an object")
    return body


def _connection_id(body: dict[str, Any]) -> str:
    value = body.get("business_connection_id")
    if not isinstance(value, str):
        raise NormaliseError("a Business update needs business_connection_id")
    return value


def _chat_id(body: dict[str, Any]) -> int:
    chat = body.get("chat")
    if not isinstance(chat, dict) or not isinstance(chat.get("id"), int):
        raise NormaliseError("chat.id is missing")
    return int(chat["id"])


def _connection(body: dict[str, Any]) -> Observation:
    user = body.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), int) or "id" not in body:
        raise NormaliseError("business_connection needs id and user.id")
    rights = body.get("rights")
    can_reply = (
        bool(rights.get("can_reply")) if isinstance(rights, dict) else body.get("can_reply", False)
    )
    info = ConnectionInfo(
        connection_id=body["id"], owner=_profile(user), enabled=bool(body.get("is_enabled", True)),
        can_reply=bool(can_reply),
    )  # fmt: skip
    date = timestamp(body.get("date"), "business_connection.date")
    return Observation(kind="connection", connection_id=body["id"], owner_hint=user["id"],
                       connection=info, occurred_at=date)  # fmt: skip


def _customer(message: dict[str, Any]) -> Profile:
    """The customer of a private chat: the chat itself, plus the sender when the customer wrote."""
    chat = message["chat"]
    sender = message.get("from") or {}
    source = sender if sender.get("id") == chat["id"] else chat
    profile = _profile(source)
    if source is not chat:  # the chat object can carry a username the sender object lacks
        profile = profile.model_copy(update={"username": profile.username or chat.get("username")})
    return profile


def _profile(user: dict[str, Any]) -> Profile:
    return Profile(
        user_id=user["id"], first_name=user.get("first_name"), last_name=user.get("last_name"),
        username=user.get("username"), language_code=user.get("language_code"),
        is_premium=user.get("is_premium"),
    )  # fmt: skip
