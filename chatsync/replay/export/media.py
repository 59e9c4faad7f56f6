"""An export message's media as the TL media object Telethon would give (pure).

The export has no MTProto file references (``id``, ``access_hash``, ``file_reference`` stay
empty), only what it wrote down: the file's path in the export folder (kept by the caller in
``_chatsync.export.file``), MIME type, size, dimensions, duration, sticker emoji, performer and
title. ``media_type`` picks the document attributes the normaliser reads: ``voice_message``
(voice), ``video_message`` (round video), ``video_file``, ``animation``, ``sticker``,
``audio_file``; a file without one is a plain document. Locations, venues, contacts and polls are
mapped too; any other media becomes ``MessageMediaUnsupported`` (with a note), as Telegram itself
reports media a client does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from telethon.tl import types

NOT_INCLUDED = "(File not included"  # Telegram Desktop's placeholder when files were not exported
_OTHER_MEDIA = ("game_title", "invoice_information", "todo_list", "giveaway_information")


def export_file(message: Mapping[str, Any]) -> str | None:
    """The media file's path inside the export folder, when it was exported."""
    path = message.get("photo") or message.get("file")
    return path if isinstance(path, str) and not path.startswith(NOT_INCLUDED) else None


def message_media(message: Mapping[str, Any], date: datetime) -> tuple[Any | None, list[str]]:
    """(TL media or None, notes)."""
    if "photo" in message:
        return _photo(message, date), []
    if "file" in message:
        return _document(message, date), []
    if isinstance(message.get("location_information"), dict):
        return _location(message), []
    if isinstance(message.get("contact_information"), dict):
        contact = message["contact_information"]
        return types.MessageMediaContact(
            str(contact.get("phone_number") or ""),
            str(contact.get("first_name") or ""),
            str(contact.get("last_name") or ""),
            "",
            0,
        ), []
    if isinstance(message.get("poll"), dict):
        return _poll(message["poll"]), []
    other = next((key for key in _OTHER_MEDIA if key in message), None)
    if other is not None:
        return types.MessageMediaUnsupported(), [f"{other}: not mapped, kept as unsupported media"]
    return None, []


def _photo(message: Mapping[str, Any], date: datetime) -> Any:
    width, height = _number(message, "width"), _number(message, "height")
    sizes = []
    if width and height:
        size = _number(message, "photo_file_size") or 0
        sizes.append(types.PhotoSize("x", width, height, size))
    photo = types.Photo(None, None, b"", date, sizes, None)
    return types.MessageMediaPhoto(photo=photo)


def _document(message: Mapping[str, Any], date: datetime) -> Any:
    kind = message.get("media_type")
    width, height = _number(message, "width") or 0, _number(message, "height") or 0
    duration = _number(message, "duration_seconds") or 0
    attributes: list[Any] = []
    flags: dict[str, bool] = {}
    if kind == "voice_message":
        attributes.append(types.DocumentAttributeAudio(duration, voice=True))
        flags["voice"] = True
    elif kind == "video_message":
        attributes.append(types.DocumentAttributeVideo(duration, width, height, round_message=True))
        flags["round"] = True
    elif kind == "sticker":
        emoji = str(message.get("sticker_emoji") or "")
        attributes.append(types.DocumentAttributeSticker(emoji, types.InputStickerSetEmpty()))
        attributes.append(types.DocumentAttributeImageSize(width, height))
    elif kind == "animation":
        attributes.append(types.DocumentAttributeAnimated())
        attributes.append(types.DocumentAttributeVideo(duration, width, height))
    elif kind == "video_file":
        attributes.append(types.DocumentAttributeVideo(duration, width, height))
        flags["video"] = True
    elif kind == "audio_file":
        title, performer = message.get("title"), message.get("performer")
        attributes.append(types.DocumentAttributeAudio(duration, title=title, performer=performer))
    name = _file_name(message)
    if name and kind not in ("voice_message", "video_message", "sticker"):
        attributes.append(types.DocumentAttributeFilename(name))
    mime = str(message.get("mime_type") or "application/octet-stream")
    size = _number(message, "file_size") or 0
    document = types.Document(None, None, b"", date, mime, size, None, attributes)
    return types.MessageMediaDocument(document=document, **flags)


def _file_name(message: Mapping[str, Any]) -> str | None:
    name = message.get("file_name")
    if isinstance(name, str) and name:
        return name
    path = export_file(message)
    return PurePosixPath(path).name if path else None


def _location(message: Mapping[str, Any]) -> Any:
    where = message["location_information"]
    geo = types.GeoPoint(float(where.get("longitude", 0)), float(where.get("latitude", 0)), 0)
    if message.get("place_name") or message.get("address"):
        return types.MessageMediaVenue(
            geo, str(message.get("place_name") or ""), str(message.get("address") or ""), "", "", ""
        )
    return types.MessageMediaGeo(geo)


def _poll(poll: Mapping[str, Any]) -> Any:
    answers = [a for a in poll.get("answers") or [] if isinstance(a, dict)]
    options = [bytes([index]) for index in range(len(answers))]
    question = types.TextWithEntities(str(poll.get("question") or ""), [])
    return types.MessageMediaPoll(
        poll=types.Poll(
            0,
            question,
            [
                types.PollAnswer(types.TextWithEntities(str(a.get("text") or ""), []), option)
                for a, option in zip(answers, options, strict=True)
            ],
            0,
            closed=bool(poll.get("closed")),
        ),
        results=types.PollResults(
            results=[
                types.PollAnswerVoters(
                    option, chosen=bool(a.get("chosen")) or None, voters=_number(a, "voters")
                )
                for a, option in zip(answers, options, strict=True)
            ],
            total_voters=_number(poll, "total_voters"),
        ),
    )


def _number(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
