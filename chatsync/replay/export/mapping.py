"""One export message -> one raw envelope of the mtproto topic, shaped like Telethon's (pure).

The message is rebuilt as Telethon's own TL object (``types.Message`` or ``MessageService``) and
turned into an envelope by ``producers.telethon.events.message_envelope`` with
``source="export"``, so the payload is exactly what live updates and backfill render, and
``_chatsync.event_id`` is ``new_message:<chat>:<message id>``, the identity Telethon uses: the
normaliser recognises a message it already has from live data or backfill (same deal, same
message id, same version) and emits nothing for it. ``out`` is true when ``from_id`` is the owner
(``user<owner id>``). Dates come from ``date_unixtime`` (UTC); an export without it gives local
times, read in the timezone the caller names. ``_chatsync`` also carries ``peer`` (the chat's
user id and name, as ``first_name``) and ``export`` (the media file's path in the export).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from telethon.tl import types

from chatsync.envelopes import RawEnvelope
from chatsync.producers.telethon.events import Scope, message_envelope
from chatsync.replay.export.media import export_file, message_media
from chatsync.replay.export.service import pinned_message_id, service_action
from chatsync.replay.export.text import TextError, message_text

_PEER = re.compile(r"^(user|channel|chat)(\d+)$")


@dataclass(frozen=True, slots=True)
class ChatContext:
    owner_user_id: int
    chat_id: int
    name: str | None
    local_timezone: tzinfo = UTC
    keep_service: bool = True


@dataclass(frozen=True, slots=True)
class Mapped:
    """What became of one message: an envelope, or why it was skipped (bad data) or omitted
    (by choice), plus notes on what was kept only in part."""

    envelope: RawEnvelope | None = None
    skipped: str | None = None
    omitted: str | None = None
    notes: list[str] = field(default_factory=list)


class _Skip(ValueError):
    pass


def map_message(message: Any, chat: ChatContext) -> Mapped:
    if not isinstance(message, dict):
        return Mapped(skipped="not a JSON object")
    try:
        kind = message.get("type")
        if kind == "message":
            return _message(message, chat)
        if kind == "service":
            return _service(message, chat)
        raise _Skip(f"unknown message type {kind!r}")
    except _Skip as exc:
        return Mapped(skipped=str(exc))


def message_id(message: Any) -> int | None:
    value = message.get("id") if isinstance(message, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _message(message: dict[str, Any], chat: ChatContext) -> Mapped:
    mid, date, notes = _identity(message, chat)
    sender = _peer(message.get("from_id"))
    if sender is None:
        raise _Skip(f"from_id {message.get('from_id')!r} names no user or channel")
    try:
        text, entities, text_notes = message_text(message)
    except TextError as exc:
        raise _Skip(str(exc)) from None
    try:
        media, media_notes = message_media(message, date)
    except (TypeError, ValueError) as exc:
        raise _Skip(f"media: {exc}") from None
    tl = types.Message(
        id=mid,
        peer_id=types.PeerUser(chat.chat_id),
        date=date,
        message=text,
        out=_is_owner(message.get("from_id"), chat),
        from_id=sender,
        fwd_from=_forward(message),
        reply_to=_reply(message.get("reply_to_message_id")),
        media=media,
        entities=entities or None,
        edit_date=_edited(message, chat, notes),
    )
    return Mapped(_envelope(tl, chat, export_file(message)), notes=notes + text_notes + media_notes)


def _service(message: dict[str, Any], chat: ChatContext) -> Mapped:
    mid, date, notes = _identity(message, chat)
    if not chat.keep_service:
        return Mapped(omitted=f"service message ({message.get('action')}): --skip-service")
    try:
        action = service_action(message)
    except (TypeError, ValueError) as exc:
        raise _Skip(f"service action {message.get('action')!r}: {exc}") from None
    if action is None:
        return Mapped(
            omitted=f"service action {message.get('action')!r} has no private-chat "
            "counterpart in MTProto"
        )
    tl = types.MessageService(
        id=mid,
        peer_id=types.PeerUser(chat.chat_id),
        date=date,
        out=_is_owner(message.get("actor_id"), chat),
        from_id=_peer(message.get("actor_id")),
        reply_to=_reply(pinned_message_id(message)),
        action=action,
    )
    return Mapped(_envelope(tl, chat, None), notes=notes)


def _identity(message: dict[str, Any], chat: ChatContext) -> tuple[int, datetime, list[str]]:
    mid = message_id(message)
    if mid is None:
        raise _Skip(f"id {message.get('id')!r} is not a positive integer")
    notes: list[str] = []
    date = _moment(message, "date", chat, notes)
    if date is None:
        raise _Skip(f"date {message.get('date')!r} is missing or not a date")
    return mid, date, notes


def _moment(
    message: dict[str, Any], key: str, chat: ChatContext, notes: list[str]
) -> datetime | None:
    unix = message.get(f"{key}_unixtime")
    if unix is not None:
        try:
            return datetime.fromtimestamp(int(unix), UTC)
        except (TypeError, ValueError, OverflowError):
            return None
    try:
        local = datetime.fromisoformat(str(message[key]))
    except (KeyError, ValueError):
        return None
    notes.append(f"{key}: no {key}_unixtime, read as {chat.local_timezone}")
    aware = local.replace(tzinfo=chat.local_timezone) if local.tzinfo is None else local
    return aware.astimezone(UTC)


def _edited(message: dict[str, Any], chat: ChatContext, notes: list[str]) -> datetime | None:
    if "edited" not in message and "edited_unixtime" not in message:
        return None
    edited = _moment(message, "edited", chat, notes)
    if edited is None:
        notes.append(f"edited {message.get('edited')!r}: not a date, imported as not edited")
    return edited


def _reply(message_id: Any) -> Any | None:
    if isinstance(message_id, int) and not isinstance(message_id, bool):
        return types.MessageReplyHeader(reply_to_msg_id=message_id)
    return None


def _peer(value: Any) -> Any | None:
    match = _PEER.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    kind, number = match[1], int(match[2])
    if kind == "user":
        return types.PeerUser(number)
    return types.PeerChannel(number) if kind == "channel" else types.PeerChat(number)


def _is_owner(value: Any, chat: ChatContext) -> bool:
    return isinstance(value, str) and value == f"user{chat.owner_user_id}"


def _forward(message: Mapping[str, Any]) -> Any | None:
    if "forwarded_from" not in message and "forwarded_from_id" not in message:
        return None
    name = message.get("forwarded_from")
    origin = _peer(message.get("forwarded_from_id"))
    # The export does not say when the original was sent: ``date`` stays null.
    return types.MessageFwdHeader(date=None, from_id=origin, from_name=name)


def _envelope(tl: Any, chat: ChatContext, file: str | None) -> RawEnvelope:
    envelope = message_envelope(tl, Scope(chat.owner_user_id), source="export")
    assert envelope is not None  # a private chat is always in scope
    extra = dict(envelope.payload["_chatsync"])
    extra["peer"] = {
        "id": chat.chat_id,
        "first_name": chat.name,
        "last_name": None,
        "username": None,
        "lang_code": None,
        "premium": None,
    }
    if file is not None:
        extra["export"] = {"file": file}
    return envelope.model_copy(update={"payload": {**envelope.payload, "_chatsync": extra}})
