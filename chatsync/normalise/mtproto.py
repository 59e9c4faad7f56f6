"""Adapter: a Telethon (MTProto) envelope -> an Observation (pure).

The payload is a rendered TL object (``"_"`` type names, base64 bytes, ISO dates) with chatsync's
``"_chatsync"`` block (``out``, ``message_ids``, ``peer``); see ``producers.telethon.events``.
History (``backfill``) and Telegram Desktop imports (``export``) use the same message shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chatsync.envelopes import RawEnvelope
from chatsync.events import Entity, FileReference, Forward, Media, MediaType, MessageData
from chatsync.normalise.errors import NormaliseError
from chatsync.normalise.inputs import Profile
from chatsync.normalise.messages import version_of
from chatsync.normalise.observations import Observation

JsonDict = dict[str, Any]
_ENTITY_TYPES = {
    "MessageEntityBold": "bold",
    "MessageEntityItalic": "italic",
    "MessageEntityUnderline": "underline",
    "MessageEntityStrike": "strikethrough",
    "MessageEntityCode": "code",
    "MessageEntityPre": "pre",
    "MessageEntityTextUrl": "text_link",
    "MessageEntityUrl": "url",
    "MessageEntityMention": "mention",
    "MessageEntityMentionName": "text_mention",
    "MessageEntityHashtag": "hashtag",
    "MessageEntityCashtag": "cashtag",
    "MessageEntityBotCommand": "bot_command",
    "MessageEntityEmail": "email",
    "MessageEntityPhone": "phone_number",
    "MessageEntitySpoiler": "spoiler",
    "MessageEntityCustomEmoji": "custom_emoji",
    "MessageEntityBlockquote": "blockquote",
    "MessageEntityBankCard": "bank_card_number",
}
_SIMPLE_MEDIA: dict[str, MediaType] = {
    "MessageMediaContact": "contact",
    "MessageMediaGeo": "location",
    "MessageMediaGeoLive": "location",
    "MessageMediaVenue": "venue",
    "MessageMediaPoll": "poll",
    "MessageMediaDice": "dice",
    "MessageMediaGame": "game",
    "MessageMediaStory": "story",
}


def observe_mtproto(envelope: RawEnvelope) -> Observation | None:
    payload, extra = envelope.payload, envelope.payload.get("_chatsync") or {}
    chat_id, kind = envelope.chat_id, envelope.update_type
    if kind in ("new_message", "message_edited"):
        if chat_id is None:
            raise NormaliseError(f"{kind} without chat_id")
        message = mtproto_message(
            payload, bool(extra.get("out", payload.get("out"))), envelope.account_user_id, chat_id
        )
        return Observation(
            kind="message" if kind == "new_message" else "edit",
            chat_id=chat_id,
            owner_hint=envelope.account_user_id,
            message=message,
            customer=_peer(extra.get("peer"), chat_id),
            occurred_at=message.edit_date or message.date,
        )
    if kind == "message_deleted":
        ids = extra.get("message_ids", payload.get("messages"))
        if chat_id is None or not ids:
            return None  # Telegram did not say which chat; no deal can be named
        return Observation(
            kind="delete", chat_id=chat_id, message_ids=list(ids), occurred_at=envelope.received_at
        )
    if kind == "message_read":
        if payload.get("_") != "UpdateReadHistoryInbox" or chat_id is None:
            return None  # only the owner's own reading changes unread counts
        return Observation(
            kind="read",
            chat_id=chat_id,
            read_max_id=int(payload["max_id"]),
            occurred_at=envelope.received_at,
        )
    if kind == "user_update" and chat_id is not None:
        profile = _user_update(payload, chat_id)
        if profile is None:
            return None
        return Observation(
            kind="profile", chat_id=chat_id, customer=profile, occurred_at=envelope.received_at
        )
    return None


def mtproto_message(payload: JsonDict, out: bool, account: int | None, chat_id: int) -> MessageData:
    try:
        message_id = int(payload["id"])
        date = datetime.fromisoformat(payload["date"])
    except (KeyError, TypeError, ValueError) as exc:
        raise NormaliseError(f"a message needs id and an ISO date ({exc!r})") from None
    edit_date = datetime.fromisoformat(payload["edit_date"]) if payload.get("edit_date") else None
    sender = payload.get("from_id") or {}
    reply = payload.get("reply_to") or {}
    media = _media(payload.get("media")) if payload.get("_") == "Message" else _service(payload)
    return MessageData(
        message_id=message_id,
        direction="out" if out else "in",
        sent_by_bot=payload.get("via_business_bot_id") is not None,
        sender_id=sender.get("user_id") or (account if out else chat_id),
        text=payload.get("message") or None,
        entities=_entities(payload.get("entities") or []),
        media=media,
        media_group_id=str(payload["grouped_id"]) if payload.get("grouped_id") else None,
        reply_to_message_id=reply.get("reply_to_msg_id"),
        forward=_forward(payload.get("fwd_from")),
        date=date,
        edit_date=edit_date,
        version=version_of(date, edit_date),
    )


def _entities(raw: list[JsonDict]) -> list[Entity]:
    return [
        Entity(
            type=_ENTITY_TYPES.get(item.get("_", ""), item.get("_", "unknown").lower()),
            offset=item["offset"],
            length=item["length"],
            url=item.get("url"),
            user_id=item.get("user_id"),
            language=item.get("language"),
            custom_emoji_id=str(item["document_id"]) if "document_id" in item else None,
        )
        for item in raw
    ]


def _media(media: JsonDict | None) -> Media | None:
    if not media:
        return None
    kind = media.get("_", "")
    if kind == "MessageMediaPhoto" and media.get("photo"):
        photo = media["photo"]
        sizes = [s for s in photo.get("sizes", []) if "w" in s]
        largest: JsonDict = max(sizes, key=lambda s: s["w"] * s["h"], default={})
        return Media(
            type="photo",
            file=_reference(photo),
            width=largest.get("w"),
            height=largest.get("h"),
            file_size=largest.get("size"),
        )
    if kind == "MessageMediaDocument" and media.get("document"):
        return _document(media["document"], media)
    if kind in _SIMPLE_MEDIA:
        return Media(type=_SIMPLE_MEDIA[kind], extra={k: v for k, v in media.items() if k != "_"})
    return Media(type="other", extra={"tl_type": kind})


def _document(document: JsonDict, media: JsonDict) -> Media:
    attributes = {a.get("_"): a for a in document.get("attributes", [])}
    audio = attributes.get("DocumentAttributeAudio") or {}
    video = attributes.get("DocumentAttributeVideo") or {}
    kind: MediaType = "document"
    if media.get("voice") or audio.get("voice"):
        kind = "voice"
    elif "DocumentAttributeSticker" in attributes:
        kind = "sticker"
    elif "DocumentAttributeAnimated" in attributes:
        kind = "animation"
    elif video:
        kind = "video_note" if media.get("round") or video.get("round_message") else "video"
    elif audio:
        kind = "audio"
    sticker = attributes.get("DocumentAttributeSticker") or {}
    return Media(
        type=kind,
        file=_reference(document),
        mime_type=document.get("mime_type"),
        file_name=(attributes.get("DocumentAttributeFilename") or {}).get("file_name"),
        file_size=document.get("size"),
        width=video.get("w"),
        height=video.get("h"),
        duration=int(video.get("duration") or audio.get("duration") or 0) or None,
        emoji=sticker.get("alt"),
    )


def _reference(obj: JsonDict) -> FileReference:
    return FileReference(
        mtproto_id=obj.get("id"),
        mtproto_access_hash=obj.get("access_hash"),
        mtproto_file_reference=obj.get("file_reference"),
    )


def _service(payload: JsonDict) -> Media:
    action = payload.get("action") or {}
    return Media(type="other", extra={"service": action.get("_", "unknown")})


def _forward(header: JsonDict | None) -> Forward | None:
    if not header:
        return None
    date = datetime.fromisoformat(header["date"]) if header.get("date") else None
    origin = header.get("from_id") or {}
    if origin.get("_") == "PeerUser":
        return Forward(origin="user", date=date, sender_user_id=origin.get("user_id"))
    if origin.get("_") == "PeerChannel":
        return Forward(
            origin="channel",
            date=date,
            chat_id=origin.get("channel_id"),
            message_id=header.get("channel_post"),
            sender_name=header.get("post_author"),
        )
    if origin.get("_") == "PeerChat":
        return Forward(origin="chat", date=date, chat_id=origin.get("chat_id"))
    if header.get("from_name"):
        return Forward(origin="hidden_user", date=date, sender_name=header["from_name"])
    return Forward(origin="unknown", date=date)


def _peer(peer: JsonDict | None, chat_id: int) -> Profile:
    """The customer of a private chat: its cached profile, or at least its id."""
    if not peer or peer.get("id") != chat_id:
        return Profile(user_id=chat_id)
    return Profile(
        user_id=chat_id,
        first_name=peer.get("first_name"),
        last_name=peer.get("last_name"),
        username=peer.get("username"),
        language_code=peer.get("lang_code"),
        is_premium=peer.get("premium"),
    )


def _user_update(payload: JsonDict, chat_id: int) -> Profile | None:
    if payload.get("_") != "UpdateUserName":
        return None
    active = [u.get("username") for u in payload.get("usernames") or [] if u.get("active")]
    return Profile(
        user_id=chat_id,
        first_name=payload.get("first_name"),
        last_name=payload.get("last_name"),
        username=active[0] if active else None,
    )
