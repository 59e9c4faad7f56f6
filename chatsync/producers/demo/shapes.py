"""Telegram Bot API Business updates as a webhook delivers them: one named sample per shape.

Every sample is a plain JSON-compatible dict built the way Telegram serialises an ``Update``:
dates are Unix seconds, the sender is under ``from``, optional fields are absent (never null),
chats with customers are ``private``, business messages carry ``business_connection_id`` and
entity offsets and lengths are counted in UTF-16 code units. Each function returns a fresh dict.

The builders (``user``, ``private_chat``, ``business_message``, ``photo_sizes``, ...) are shared
with :mod:`chatsync.producers.demo.scenario`.
"""

# Multilingual text is the point of this module: confusable characters are intended.
# ruff: noqa: RUF001

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

JsonDict = dict[str, Any]

BOT_ID = 7_412_365_890
BOT_USERNAME = "northwind_desk_bot"
BOT_FIRST_NAME = "Northwind Desk"

OWNER_ID = 6_120_447_389
"""Olga Smirnova, the business account behind ``CONNECTION_ID``."""
OWNER_2_ID = 5_287_916_043
"""Rahul Mehta, the business account behind ``CONNECTION_2_ID``."""
CONNECTION_ID = "kX3q9aZPcEgBAAAAvVhH2Y7mT0w"
CONNECTION_2_ID = "Tq0Lw1sHx0kCAAAAj5cN8pYtRgM"

CUSTOMER_ID = 5_873_920_114
"""Анна Кузнецова (@anna_kuz), a customer of Olga's."""
CUSTOMER_RTL_ID = 1_094_385_276
"""ليلى, a customer of Olga's without last name or username, who writes Arabic and Hebrew."""
CUSTOMER_2_ID = 6_741_002_583
"""王芳 (@wangfang88), a customer of Rahul's, without last name."""
FORWARDED_USER_ID = 948_273_615
"""Dmitry Volkov (@dvolkov), whose message a customer forwards (he allows linking)."""
CHANNEL_ID = -1_001_873_456_120
"""A public channel a customer forwards a post from."""

MEDIA_GROUP_ID = "13915673207145290"
BASE_DATE = 1_763_712_000
BASE_UPDATE_ID = 884_200_100
CUSTOM_EMOJI_ID = "5368324170671202286"

_FILE_ID_PREFIX = {
    "photo": "AgACAgIAAxkBAAI",
    "thumbnail": "AAMCAgADGQEAAg",
    "voice": "AwACAgIAAxkBAAI",
    "document": "BQACAgIAAxkBAAI",
    "sticker": "CAACAgIAAxkBAAI",
    "video": "BAACAgIAAxkBAAI",
}


# --- builders -------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def entity(text: str, part: str, kind: str, **extra: Any) -> JsonDict:
    """A MessageEntity of type ``kind`` covering the first occurrence of ``part`` in ``text``."""
    start = text.index(part)
    return {"offset": utf16_len(text[:start]), "length": utf16_len(part), "type": kind, **extra}


def user(
    user_id: int,
    first_name: str,
    last_name: str | None = None,
    username: str | None = None,
    *,
    language_code: str | None = None,
    is_premium: bool = False,
    is_bot: bool = False,
) -> JsonDict:
    """A User object; absent optional fields are left out, as Telegram does."""
    out: JsonDict = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if last_name is not None:
        out["last_name"] = last_name
    if username is not None:
        out["username"] = username
    if language_code is not None:
        out["language_code"] = language_code
    if is_premium:
        out["is_premium"] = True
    return out


def private_chat(person: JsonDict) -> JsonDict:
    """The private Chat with ``person``: its id is the user's id."""
    out: JsonDict = {"id": person["id"], "first_name": person["first_name"]}
    if "last_name" in person:
        out["last_name"] = person["last_name"]
    if "username" in person:
        out["username"] = person["username"]
    out["type"] = "private"
    return out


def bot_user() -> JsonDict:
    """The Business bot itself, as it appears in ``sender_business_bot``."""
    return user(BOT_ID, BOT_FIRST_NAME, username=BOT_USERNAME, is_bot=True)


def file_ids(kind: str, *key: int) -> tuple[str, str]:
    """A deterministic (file_id, file_unique_id) pair shaped like Telegram's for ``kind``."""
    digest = hashlib.blake2b(f"{kind}:{key}".encode(), digest_size=51).digest()
    body = base64.urlsafe_b64encode(digest[:42]).decode()
    unique = base64.urlsafe_b64encode(digest[42:]).decode()
    unique_prefix = "AQAD" if kind in ("photo", "thumbnail") else "AgAD"
    return _FILE_ID_PREFIX[kind] + body, unique_prefix + unique


def photo_size(kind: str, width: int, height: int, *key: int) -> JsonDict:
    """One PhotoSize (a photo size or a thumbnail)."""
    file_id, unique_id = file_ids(kind, width, *key)
    size = width * height // 11 + (sum(key) % 997)
    return {
        "file_id": file_id,
        "file_unique_id": unique_id,
        "file_size": size,
        "width": width,
        "height": height,
    }


def photo_sizes(width: int, height: int, *key: int) -> list[JsonDict]:
    """The sizes Telegram lists for one photo, smallest first, the original last."""
    longest = max(width, height)
    out = []
    for side in (90, 320, 800):
        if side < longest:
            out.append(photo_size("photo", width * side // longest, height * side // longest, *key))
    out.append(photo_size("photo", width, height, *key))
    return out


def thumbnail(width: int, height: int, *key: int) -> JsonDict:
    """The small preview attached to documents, videos and stickers."""
    longest = max(width, height)
    return photo_size("thumbnail", width * 320 // longest, height * 320 // longest, *key)


def voice(duration: int, *key: int) -> JsonDict:
    """A Voice note (Opus in Ogg)."""
    file_id, unique_id = file_ids("voice", *key)
    return {
        "duration": duration,
        "mime_type": "audio/ogg",
        "file_id": file_id,
        "file_unique_id": unique_id,
        "file_size": duration * 2_150 + 431,
    }


def document(file_name: str, mime_type: str, file_size: int, *key: int) -> JsonDict:
    """A Document with a thumbnail, as sent for PDFs and images sent as files."""
    file_id, unique_id = file_ids("document", *key)
    return {
        "file_name": file_name,
        "mime_type": mime_type,
        "thumbnail": thumbnail(1240, 1754, *key),
        "file_id": file_id,
        "file_unique_id": unique_id,
        "file_size": file_size,
    }


def sticker(emoji: str, set_name: str, *key: int) -> JsonDict:
    """An animated (TGS) regular Sticker."""
    file_id, unique_id = file_ids("sticker", *key)
    return {
        "width": 512,
        "height": 512,
        "emoji": emoji,
        "set_name": set_name,
        "is_animated": True,
        "is_video": False,
        "type": "regular",
        "thumbnail": thumbnail(512, 512, *key),
        "file_id": file_id,
        "file_unique_id": unique_id,
        "file_size": 28_417 + sum(key) % 5_000,
    }


def video(duration: int, width: int, height: int, file_name: str, *key: int) -> JsonDict:
    """A Video (MP4) with its thumbnail."""
    file_id, unique_id = file_ids("video", *key)
    return {
        "duration": duration,
        "width": width,
        "height": height,
        "file_name": file_name,
        "mime_type": "video/mp4",
        "thumbnail": thumbnail(width, height, *key),
        "file_id": file_id,
        "file_unique_id": unique_id,
        "file_size": duration * 412_000 + sum(key) % 10_000,
    }


def business_message(
    *,
    connection_id: str,
    message_id: int,
    sender: JsonDict,
    chat: JsonDict,
    date: int,
    **content: Any,
) -> JsonDict:
    """A Message in a business chat; ``content`` holds the remaining fields, in order."""
    out: JsonDict = {
        "business_connection_id": connection_id,
        "message_id": message_id,
        "from": sender,
        "chat": chat,
        "date": date,
    }
    out.update(content)
    return out


def update(update_id: int, field: str, value: JsonDict) -> JsonDict:
    """An Update carrying ``value`` under ``field`` (exactly one field besides update_id)."""
    return {"update_id": update_id, field: value}


def rights() -> JsonDict:
    """BusinessBotRights (Bot API 9.0+): only the granted rights are present."""
    return {
        "can_reply": True,
        "can_read_messages": True,
        "can_delete_sent_messages": True,
        "can_delete_all_messages": True,
    }


# --- the people of the samples ----------------------------------------------------------------


def owner() -> JsonDict:
    return user(
        OWNER_ID, "Ольга", "Смирнова", "olga_loftdecor", language_code="ru", is_premium=True
    )


def owner_2() -> JsonDict:
    return user(OWNER_2_ID, "Rahul", "Mehta", "mehta_spices", language_code="en", is_premium=True)


def customer() -> JsonDict:
    return user(CUSTOMER_ID, "Анна", "Кузнецова", "anna_kuz", language_code="ru")


def customer_rtl() -> JsonDict:
    return user(CUSTOMER_RTL_ID, "ليلى")


def customer_2() -> JsonDict:
    return user(CUSTOMER_2_ID, "王芳", username="wangfang88", language_code="zh-hans")


def _incoming(message_id: int, at: int, **content: Any) -> JsonDict:
    """A message Anna sends to Olga's business account."""
    person = customer()
    return business_message(
        connection_id=CONNECTION_ID,
        message_id=message_id,
        sender=person,
        chat=private_chat(person),
        date=BASE_DATE + at,
        **content,
    )


def _outgoing(message_id: int, at: int, **content: Any) -> JsonDict:
    """A message Olga's business account sends to Anna."""
    return business_message(
        connection_id=CONNECTION_ID,
        message_id=message_id,
        sender=owner(),
        chat=private_chat(customer()),
        date=BASE_DATE + at,
        **content,
    )


# --- samples ----------------------------------------------------------------------------------

TEXT = "Здравствуйте! Диван «Осло» ещё в наличии? 🛋️"
EDITED_TEXT = "Здравствуйте! Диван «Осло» ещё в наличии? 🛋️ Нужен серый, 180 см."

TEXT_WITH_ENTITIES = (
    "👨‍👩‍👧 Семейная скидка −15% до воскресенья! Каталог: https://loftdecor.example/sale "
    "— вопросы к @loftdecor_help 🎁 Подробнее"
)
TEXT_WITH_ENTITIES_PARTS: dict[str, str] = {
    "bold": "Семейная скидка −15%",
    "italic": "до воскресенья",
    "url": "https://loftdecor.example/sale",
    "mention": "@loftdecor_help",
    "custom_emoji": "🎁",
    "text_link": "Подробнее",
}
"""The substring each entity of ``text_with_entities`` is meant to cover, by entity type."""


def _long_text() -> str:
    sentences = (
        "Заказ пришёл, но одна ножка стола поцарапана, фото ниже.",
        "The delivery was two days late and nobody called me.",
        "وصل الطلب لكن العلبة كانت مفتوحة.",
        "ההזמנה הגיעה אבל הקופסה הייתה פתוחה.",
        "桌子的一条腿有划痕，请帮忙处理。",
        "कृपया मुझे बताइए कि बदलने में कितना समय लगेगा।",
        "Θα ήθελα αντικατάσταση, όχι επιστροφή χρημάτων ☕",
        "配送業者の対応はとても丁寧でした。",
    )
    parts: list[str] = []
    length = 0
    number = 1
    while True:
        piece = f"{number}. {sentences[number % len(sentences)]}\n"
        if length + len(piece) > 4096:
            break
        parts.append(piece)
        length += len(piece)
        number += 1
    return "".join(parts) + "." * (4096 - length)


LONG_TEXT_4096 = _long_text()
"""4096 characters, all in the Basic Multilingual Plane (so also 4096 UTF-16 code units)."""

RTL_TEXT = "مرحبا! هل الطاولة متوفرة باللون الأبيض؟ / שלום, אפשר משלוח לחיפה עד יום חמישי? 2×"


def business_connection() -> JsonDict:
    """Olga connects the bot to her business account (Bot API 9.x shape, with ``rights``)."""
    return update(
        BASE_UPDATE_ID,
        "business_connection",
        {
            "id": CONNECTION_ID,
            "user": owner(),
            "user_chat_id": OWNER_ID,
            "date": BASE_DATE - 86_400,
            "rights": rights(),
            "is_enabled": True,
        },
    )


def business_connection_disabled() -> JsonDict:
    """Olga disconnects the bot: the same connection id, ``is_enabled`` false."""
    return update(
        BASE_UPDATE_ID + 1,
        "business_connection",
        {
            "id": CONNECTION_ID,
            "user": owner(),
            "user_chat_id": OWNER_ID,
            "date": BASE_DATE + 7_200,
            "is_enabled": False,
        },
    )


def business_connection_legacy() -> JsonDict:
    """Rahul's connection in the Bot API 7.2-8.x shape: ``can_reply`` instead of ``rights``."""
    return update(
        BASE_UPDATE_ID + 2,
        "business_connection",
        {
            "id": CONNECTION_2_ID,
            "user": owner_2(),
            "user_chat_id": OWNER_2_ID,
            "date": BASE_DATE - 3_600,
            "can_reply": True,
            "is_enabled": True,
        },
    )


def text() -> JsonDict:
    """Anna writes to Olga (incoming plain text with an emoji)."""
    return update(BASE_UPDATE_ID + 3, "business_message", _incoming(2041, 0, text=TEXT))


def sent_by_owner() -> JsonDict:
    """Olga answers from her own Telegram app: ``from`` is the owner, the chat is Anna's."""
    return update(
        BASE_UPDATE_ID + 4,
        "business_message",
        _outgoing(2042, 95, text="Добрый день, Анна! Да, есть серый и синий 🙂"),
    )


def text_with_entities() -> JsonDict:
    """Olga sends formatted text; offsets count UTF-16 units (the family emoji is 8 of them)."""
    value = TEXT_WITH_ENTITIES
    entities = [
        entity(value, part, kind, **_entity_extra(kind))
        for kind, part in TEXT_WITH_ENTITIES_PARTS.items()
    ]
    entities.sort(key=lambda item: int(item["offset"]))
    return update(
        BASE_UPDATE_ID + 5,
        "business_message",
        _outgoing(2043, 130, text=value, entities=entities),
    )


def _entity_extra(kind: str) -> JsonDict:
    if kind == "custom_emoji":
        return {"custom_emoji_id": CUSTOM_EMOJI_ID}
    if kind == "text_link":
        return {"url": "https://loftdecor.example/terms"}
    return {}


def photo_with_caption() -> JsonDict:
    """Anna sends a photo (four sizes) with a caption."""
    return update(
        BASE_UPDATE_ID + 6,
        "business_message",
        _incoming(
            2044,
            410,
            photo=photo_sizes(1280, 960, CUSTOMER_ID, 2044),
            caption="Вот такой оттенок нужен 👆",
        ),
    )


def voice_message() -> JsonDict:
    """Anna sends a voice note."""
    return update(
        BASE_UPDATE_ID + 7,
        "business_message",
        _incoming(2045, 470, voice=voice(7, CUSTOMER_ID, 2045)),
    )


def document_message() -> JsonDict:
    """Anna sends a PDF whose file name is Cyrillic with spaces."""
    return update(
        BASE_UPDATE_ID + 8,
        "business_message",
        _incoming(
            2046,
            530,
            document=document(
                "Реквизиты ООО Ромашка.pdf", "application/pdf", 184_332, CUSTOMER_ID, 2046
            ),
            caption="Счёт выставите на юрлицо, пожалуйста",
        ),
    )


def sticker_message() -> JsonDict:
    """Anna sends an animated sticker."""
    return update(
        BASE_UPDATE_ID + 9,
        "business_message",
        _incoming(2047, 560, sticker=sticker("👍", "HotCherry", CUSTOMER_ID, 2047)),
    )


def video_in_album() -> list[JsonDict]:
    """Anna sends an album: a video with the caption, then a photo; one ``media_group_id``."""
    first = _incoming(
        2048,
        640,
        media_group_id=MEDIA_GROUP_ID,
        video=video(14, 720, 1280, "IMG_4821.MP4", CUSTOMER_ID, 2048),
        caption="Как он смотрится в комнате 🎥",
    )
    second = _incoming(
        2049,
        640,
        media_group_id=MEDIA_GROUP_ID,
        photo=photo_sizes(960, 1280, CUSTOMER_ID, 2049),
    )
    return [
        update(BASE_UPDATE_ID + 10, "business_message", first),
        update(BASE_UPDATE_ID + 11, "business_message", second),
    ]


def reply() -> JsonDict:
    """Olga replies to Anna's first message; the quoted message is embedded, without nesting."""
    quoted = _incoming(2041, 0, text=TEXT)
    return update(
        BASE_UPDATE_ID + 12,
        "business_message",
        _outgoing(
            2050,
            700,
            reply_to_message=quoted,
            text="Серый есть в 160 и 180 см, доставка завтра.",
        ),
    )


def forward_from_user() -> JsonDict:
    """Anna forwards a message of a user who allows linking to his account.

    Besides ``forward_origin`` (Bot API 7.0+), Telegram still sends the legacy ``forward_*``
    fields for backward compatibility.
    """
    origin_user = user(FORWARDED_USER_ID, "Dmitry", "Volkov", "dvolkov")
    return update(
        BASE_UPDATE_ID + 13,
        "business_message",
        _incoming(
            2051,
            760,
            forward_origin={"type": "user", "date": BASE_DATE - 5_000, "sender_user": origin_user},
            forward_from=dict(origin_user),
            forward_date=BASE_DATE - 5_000,
            text="Мне этот магазин посоветовали, говорят, доставка быстрая",
        ),
    )


def forward_from_hidden_user() -> JsonDict:
    """Anna forwards a message of a user who hides his account: only a name is left."""
    return update(
        BASE_UPDATE_ID + 14,
        "business_message",
        _incoming(
            2052,
            790,
            forward_origin={
                "type": "hidden_user",
                "date": BASE_DATE - 9_100,
                "sender_user_name": "Марина К.",
            },
            forward_sender_name="Марина К.",
            forward_date=BASE_DATE - 9_100,
            text="Мы у вас в прошлом году брали кресло, очень довольны!",
        ),
    )


def forward_from_channel() -> JsonDict:
    """Anna forwards a post of a public channel (with the author's signature)."""
    channel = {
        "id": CHANNEL_ID,
        "title": "Интерьер и дизайн 🏠",
        "username": "interior_daily",
        "type": "channel",
    }
    return update(
        BASE_UPDATE_ID + 15,
        "business_message",
        _incoming(
            2053,
            820,
            forward_origin={
                "type": "channel",
                "chat": channel,
                "message_id": 48_213,
                "author_signature": "Елена",
                "date": BASE_DATE - 40_000,
            },
            forward_from_chat=dict(channel),
            forward_from_message_id=48_213,
            forward_signature="Елена",
            forward_date=BASE_DATE - 40_000,
            text="Хочу примерно так, как на этой картинке",
        ),
    )


def sent_by_bot_for_owner() -> JsonDict:
    """The bot answers Anna on Olga's behalf: ``from`` is Olga, ``sender_business_bot`` the bot."""
    value = "Спасибо за заказ! Номер заказа: 10482 ✅"
    return update(
        BASE_UPDATE_ID + 16,
        "business_message",
        _outgoing(
            2054,
            900,
            sender_business_bot=bot_user(),
            text=value,
            entities=[entity(value, "10482", "bold")],
        ),
    )


def long_text_4096() -> JsonDict:
    """Anna sends a message at Telegram's length limit: 4096 characters of mixed scripts."""
    return update(
        BASE_UPDATE_ID + 17,
        "business_message",
        _incoming(2055, 1_300, text=LONG_TEXT_4096),
    )


def rtl_text() -> JsonDict:
    """Layla (no last name, no username) writes Arabic and Hebrew in one message."""
    person = customer_rtl()
    return update(
        BASE_UPDATE_ID + 18,
        "business_message",
        business_message(
            connection_id=CONNECTION_ID,
            message_id=2060,
            sender=person,
            chat=private_chat(person),
            date=BASE_DATE + 1_400,
            text=RTL_TEXT,
        ),
    )


def edited_business_message() -> JsonDict:
    """Anna edits her first message: same id and date, new text, ``edit_date`` set."""
    return update(
        BASE_UPDATE_ID + 19,
        "edited_business_message",
        _incoming(2041, 0, edit_date=BASE_DATE + 1_500, text=EDITED_TEXT),
    )


def deleted_business_messages() -> JsonDict:
    """Two messages of Anna's chat are deleted."""
    return update(
        BASE_UPDATE_ID + 20,
        "deleted_business_messages",
        {
            "business_connection_id": CONNECTION_ID,
            "chat": private_chat(customer()),
            "message_ids": [2045, 2047],
        },
    )


def away_message_offline() -> JsonDict:
    """Rahul's away message, sent automatically by Telegram: ``is_from_offline`` is true."""
    person = customer_2()
    return update(
        BASE_UPDATE_ID + 21,
        "business_message",
        business_message(
            connection_id=CONNECTION_2_ID,
            message_id=7712,
            sender=owner_2(),
            chat=private_chat(person),
            date=BASE_DATE + 1_600,
            is_from_offline=True,
            text="Thanks for your message! We're closed now and will reply after 10:00 IST 🌙",
        ),
    )


def future_update_type() -> JsonDict:
    """An update type this code does not know yet (``business_story``); it must pass through."""
    return update(
        BASE_UPDATE_ID + 22,
        "business_story",
        {
            "business_connection_id": CONNECTION_ID,
            "chat": private_chat(owner()),
            "id": 17,
            "date": BASE_DATE + 1_700,
            "expiration_date": BASE_DATE + 1_700 + 86_400,
        },
    )


def future_message_field() -> JsonDict:
    """A known message with fields this code may not know (``paid_star_count``, ``translation``)."""
    return update(
        BASE_UPDATE_ID + 23,
        "business_message",
        _incoming(
            2056,
            1_800,
            paid_star_count=5,
            text="Можно ускорить доставку? Готова доплатить ⭐",
            translation={"language_code": "en", "text": "Can you speed up delivery? I'll pay ⭐"},
        ),
    )


SAMPLES: dict[str, Callable[[], JsonDict]] = {
    "business_connection": business_connection,
    "business_connection_disabled": business_connection_disabled,
    "business_connection_legacy": business_connection_legacy,
    "text": text,
    "text_with_entities": text_with_entities,
    "photo_with_caption": photo_with_caption,
    "voice": voice_message,
    "document": document_message,
    "sticker": sticker_message,
    "reply": reply,
    "forward_from_user": forward_from_user,
    "forward_from_hidden_user": forward_from_hidden_user,
    "forward_from_channel": forward_from_channel,
    "long_text_4096": long_text_4096,
    "rtl_text": rtl_text,
    "sent_by_owner": sent_by_owner,
    "sent_by_bot_for_owner": sent_by_bot_for_owner,
    "edited_business_message": edited_business_message,
    "deleted_business_messages": deleted_business_messages,
    "away_message_offline": away_message_offline,
    "future_update_type": future_update_type,
    "future_message_field": future_message_field,
}
"""Every single-update sample by name."""

MULTI_SAMPLES: dict[str, Callable[[], list[JsonDict]]] = {"video_in_album": video_in_album}
"""Samples made of several updates that belong together."""
