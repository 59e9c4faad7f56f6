"""An export message's text: the plain string and Telegram's entities with UTF-16 offsets (pure).

Telegram Desktop writes a message's text as ``text_entities`` (a list of ``{"type", "text"}``
parts, ``plain`` for unformatted runs) and as ``text`` (a string, or a list of strings and such
parts). Concatenating the parts gives the message; each formatted part becomes one TL entity whose
``offset`` and ``length`` count UTF-16 code units, as MTProto does: an emoji outside the Basic
Multilingual Plane (👋) counts 2, Cyrillic, Arabic, Hebrew, Devanagari and CJK letters count 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from telethon.tl import types

JsonDict = dict[str, Any]
EntityFactory = Callable[[int, int, Mapping[str, Any]], Any]


class TextError(ValueError):
    """The text is not in a shape Telegram Desktop writes."""


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units (what Telegram's entity offsets count)."""
    return len(text.encode("utf-16-le")) // 2


def _int(value: Any) -> int:
    return int(value)


_ENTITIES: dict[str, EntityFactory] = {
    "bold": lambda o, n, p: types.MessageEntityBold(o, n),
    "italic": lambda o, n, p: types.MessageEntityItalic(o, n),
    "underline": lambda o, n, p: types.MessageEntityUnderline(o, n),
    "strikethrough": lambda o, n, p: types.MessageEntityStrike(o, n),
    "spoiler": lambda o, n, p: types.MessageEntitySpoiler(o, n),
    "code": lambda o, n, p: types.MessageEntityCode(o, n),
    "pre": lambda o, n, p: types.MessageEntityPre(o, n, str(p.get("language") or "")),
    "link": lambda o, n, p: types.MessageEntityUrl(o, n),
    "text_link": lambda o, n, p: types.MessageEntityTextUrl(o, n, str(p["href"])),
    "mention": lambda o, n, p: types.MessageEntityMention(o, n),
    "mention_name": lambda o, n, p: types.MessageEntityMentionName(o, n, _int(p["user_id"])),
    "hashtag": lambda o, n, p: types.MessageEntityHashtag(o, n),
    "cashtag": lambda o, n, p: types.MessageEntityCashtag(o, n),
    "bot_command": lambda o, n, p: types.MessageEntityBotCommand(o, n),
    "email": lambda o, n, p: types.MessageEntityEmail(o, n),
    "phone": lambda o, n, p: types.MessageEntityPhone(o, n),
    "bank_card": lambda o, n, p: types.MessageEntityBankCard(o, n),
    "blockquote": lambda o, n, p: types.MessageEntityBlockquote(o, n, p.get("collapsed")),
    "custom_emoji": lambda o, n, p: types.MessageEntityCustomEmoji(o, n, _int(p["document_id"])),
}


def message_text(message: Mapping[str, Any]) -> tuple[str, list[Any], list[str]]:
    """(text, TL entities, notes) of an export message; TextError when it is malformed.

    Notes name formatting that has no MTProto entity here and was kept as plain text.
    """
    parts = message.get("text_entities")
    if parts is None:
        raw = message.get("text", "")
        parts = [raw] if isinstance(raw, str) else raw
    if not isinstance(parts, list):
        raise TextError(f"text is a {type(parts).__name__}, not a string or a list")
    text: list[str] = []
    entities: list[Any] = []
    notes: list[str] = []
    offset = 0
    for index, part in enumerate(parts):
        kind, chunk = _part(index, part)
        size = utf16_length(chunk)
        if kind != "plain" and size:
            entity = _entity(kind, offset, size, part)
            if entity is None:
                notes.append(f"text part {index}: {kind} kept as plain text")
            else:
                entities.append(entity)
        text.append(chunk)
        offset += size
    return "".join(text), entities, notes


def _part(index: int, part: Any) -> tuple[str, str]:
    if isinstance(part, str):
        return "plain", part
    if isinstance(part, dict) and isinstance(part.get("text"), str):
        return str(part.get("type") or "plain"), part["text"]
    raise TextError(f"text part {index} is neither a string nor a {{type, text}} object")


def _entity(kind: str, offset: int, length: int, part: Any) -> Any | None:
    factory = _ENTITIES.get(kind)
    if factory is None or not isinstance(part, dict):
        return None
    try:
        return factory(offset, length, part)
    except (KeyError, TypeError, ValueError):
        return None  # e.g. a custom emoji whose document is a file path, not an id
