"""A deterministic, realistic feed of Bot API Business updates for demos, tests and benchmarks.

Several business owners connect the bot; each talks with customers in private chats: customers
write in their own language and script, owners answer from their apps, the bot answers on their
behalf, away messages go out while they are offline, both sides send media (photos, an album,
voice notes, documents, stickers, videos), reply to earlier messages, forward messages, edit and
delete them. One owner disconnects the bot near the end of :func:`demo_updates`.

Like Telegram, message ids count per business account (not per chat), so they increase within
each chat with gaps. A customer can talk to two businesses: the same chat id then appears under
two connections. Everything comes from ``random.Random(seed)``: same arguments, same feed.

Sent messages are remembered as compact records and rebuilt on demand (media file ids are a pure
function of owner and message id), so :func:`stream_updates` keeps a bounded state per chat and
its memory does not grow with the number of updates.
"""

# Multilingual text is the point of this module: confusable characters are intended.
# ruff: noqa: RUF001

from __future__ import annotations

import base64
import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from chatsync.producers.demo import shapes
from chatsync.producers.demo.shapes import JsonDict

_ID_FLOOR = 200_000_000
_ID_SPAN = 7_000_000_000
_ALIVE_LIMIT = 8
_EDITABLE_MEDIA = frozenset({"text", "photo", "video", "document"})


@dataclass(frozen=True, slots=True)
class _Locale:
    """What people of one language are called and say."""

    code: str
    names: tuple[tuple[str, str | None, str | None], ...]
    incoming: tuple[str, ...]
    outgoing: tuple[str, ...]
    captions: tuple[str, ...]
    corrections: tuple[str, ...]
    bot: str
    away: str


LOCALES: tuple[_Locale, ...] = (
    _Locale(
        "ru",
        (
            ("Анна", "Кузнецова", "anna_kuz"),
            ("Дмитрий", "Петров", "dpetrov"),
            ("Екатерина", "Соколова", "katya_sokol"),
            ("Сергей", None, None),
            ("Мария", "Новикова", None),
        ),
        (
            "Здравствуйте! Диван «Осло» ещё в наличии? 🛋️",
            "А доставка в Казань сколько стоит?",
            "Можно оплатить картой при получении?",
            "Спасибо, жду 🙌",
            "Добрый вечер, заказ ещё не пришёл 😕",
            "Пришлите, пожалуйста, фото в интерьере",
        ),
        (
            "Добрый день! Да, есть на складе.",
            "Доставка по городу бесплатная 🚚",
            "Отправили, трек-номер пришлю вечером.",
            "Размеры: 160×200 и 180×200.",
        ),
        ("Вот такой оттенок нужен 👆", "Царапина на ножке 😕", "Как смотрится в комнате"),
        (" (точнее, 180×200)", " — исправила адрес: ул. Ленина, 5"),
        "Спасибо за заказ! Номер заказа: {order} ✅",
        "Спасибо за сообщение! Сейчас мы не на связи, ответим завтра с 10:00 🌙",
    ),
    _Locale(
        "uk",
        (
            ("Олена", "Коваленко", "olena_kov"),
            ("Тарас", "Шевчук", "taras_sh"),
            ("Ірина", None, "iryna_b"),
        ),
        (
            "Добрий день! Чи є ця модель у чорному кольорі?",
            "Дякую! 🇺🇦👍🏽",
            "Скільки коштує доставка до Львова?",
        ),
        ("Вітаю! Так, є в наявності.", "Доставка Новою поштою 1–2 дні 📦"),
        ("Ось такий потрібен", "Фото з пакування"),
        (" (вибачте, у сірому)",),
        "Дякуємо за замовлення! Номер: {order} ✅",
        "Дякуємо за повідомлення! Відповімо в робочий час 🌙",
    ),
    _Locale(
        "ar",
        (
            ("أحمد", "الحسن", "ahmad_hasan"),
            ("فاطمة", "منصور", None),
            ("ليلى", None, None),
        ),
        (
            "مرحبا، هل هذا المنتج متوفر؟",
            "كم سعر التوصيل إلى دبي؟",
            "شكرا جزيلا 🌹",
            "هل يمكن الدفع عند الاستلام؟",
        ),
        ("أهلا وسهلا! نعم، متوفر.", "التوصيل مجاني داخل المدينة 🚚", "تم شحن الطلب اليوم."),
        ("هذا اللون من فضلك", "صورة المنتج"),
        (" (عذرا، أقصد الأزرق)",),
        "شكرا لطلبك! رقم الطلب: {order} ✅",
        "شكرا لرسالتك! سنرد عليك صباح الغد 🌙",
    ),
    _Locale(
        "he",
        (
            ("נועה", "כהן", "noa_cohen"),
            ("איתי", "לוי", "itay_levi"),
            ("מאיה", None, None),
        ),
        ("שלום, יש את זה במידה M?", "כמה עולה משלוח לחיפה?", "תודה רבה! 🙏"),
        ("היי! כן, יש במלאי.", "המשלוח יוצא מחר בבוקר 🚚", "בטח, אנחנו פתוחים עד 19:00."),
        ("בצבע הזה בבקשה", "ככה זה הגיע"),
        (" (סליחה, התכוונתי לכחול)",),
        "תודה על ההזמנה! מספר הזמנה: {order} ✅",
        "תודה על ההודעה! נחזור אליך מחר בבוקר 🌙",
    ),
    _Locale(
        "zh-hans",
        (("王芳", None, "wangfang"), ("李娜", None, None), ("张伟", None, "zhangwei_bj")),
        ("你好，请问这款还有货吗？", "可以寄到上海吗？", "谢谢！👍", "能便宜一点吗？😅"),
        ("您好！有现货。", "今天下午发货 📦", "可以的，包邮。"),
        ("要这个颜色", "收到的包装"),
        ("（更正：要蓝色的）",),
        "感谢您的订单！订单号：{order} ✅",
        "感谢留言！我们明天上午回复您 🌙",
    ),
    _Locale(
        "ja",
        (("花子", "佐藤", "hanako_s"), ("健太", "鈴木", "kenta_suzuki"), ("さくら", None, None)),
        ("こんにちは！在庫はありますか？", "ありがとうございます😊", "送料はいくらですか？"),
        ("はい、在庫ございます。", "本日発送いたします 📦"),
        ("この色でお願いします", "届いた商品です"),
        ("（訂正：青いほうです）",),
        "ご注文ありがとうございます！注文番号：{order} ✅",
        "メッセージありがとうございます。明日10時以降に返信いたします 🌙",
    ),
    _Locale(
        "ko",
        (("민준", "김", "minjun_kim"), ("서연", "이", None), ("지호", None, None)),
        ("안녕하세요, 배송은 언제 되나요?", "감사합니다! 😊", "이 제품 재고 있나요?"),
        ("네, 재고 있습니다.", "내일 발송됩니다 📦"),
        ("이 색상으로 부탁드려요",),
        (" (정정: 파란색이요)",),
        "주문해 주셔서 감사합니다! 주문 번호: {order} ✅",
        "메시지 감사합니다! 내일 오전에 답변드리겠습니다 🌙",
    ),
    _Locale(
        "hi",
        (
            ("प्रिया", "शर्मा", "priya_sharma"),
            ("राहुल", "वर्मा", "rahul_verma"),
            ("अंजलि", None, None),
        ),
        ("नमस्ते, क्या यह अभी उपलब्ध है?", "डिलीवरी में कितने दिन लगेंगे?", "धन्यवाद 🙏"),
        ("जी हाँ, उपलब्ध है।", "कल तक पहुँच जाएगा 🚚"),
        ("यह रंग चाहिए", "पैकेट ऐसा आया"),
        (" (माफ़ कीजिए, नीला वाला)",),
        "ऑर्डर के लिए धन्यवाद! ऑर्डर नंबर: {order} ✅",
        "संदेश के लिए धन्यवाद! हम कल सुबह जवाब देंगे 🌙",
    ),
    _Locale(
        "en",
        (
            ("Emily", "Carter", "emily_c"),
            ("James", "O'Neil", "jamesoneil"),
            ("Mike", None, None),
            ("Zoë", "Brooks", "zoe_b"),
        ),
        (
            "Hi! Is the blue one still available? 😊",
            "Can you ship to Berlin?",
            "Perfect, thanks!! 🎉",
            "Any discount for two? 👨‍👩‍👧",
        ),
        ("Hi there! Yes, it's in stock.", "Shipping takes 2–3 days 📦", "Sure, 10% off for two 🙂"),
        ("This colour please", "How it arrived"),
        (" (sorry, I meant the grey one)",),
        "Thanks for your order! Order number: {order} ✅",
        "Thanks for your message! We're away and will reply after 9:00 🌙",
    ),
    _Locale(
        "es",
        (("Sofía", "García", "sofi_garcia"), ("Javier", "Núñez", None), ("Lucía", None, None)),
        ("¡Hola! ¿Tienen envío a Sevilla?", "¿Cuánto cuesta el de mimbre?", "¡Gracias! 😊"),
        ("¡Hola! Sí, enviamos a toda España.", "Cuesta 89 €, envío incluido 📦"),
        ("Este color, por favor",),
        (" (perdón, el gris)",),
        "¡Gracias por tu pedido! Número de pedido: {order} ✅",
        "¡Gracias por tu mensaje! Respondemos mañana a partir de las 9:00 🌙",
    ),
)
"""The languages of the feed; customers are spread over them round-robin."""

_LOCALE_BY_CODE = {locale.code: locale for locale in LOCALES}

OWNER_PRESETS: tuple[tuple[str, str, str, str], ...] = (
    ("Ольга", "Смирнова", "olga_loftdecor", "ru"),
    ("Rahul", "Mehta", "mehta_spices", "hi"),
    ("יעל", "כהן", "yael_ceramics", "he"),
    ("Karim", "Haddad", "haddad_sweets", "ar"),
    ("美玲", "林", "meiling_tea", "zh-hans"),
    ("Sofía", "Ruiz", "flores_sofia", "es"),
)
"""The first owners (first name, last name, username, language); later ones are generated."""

_FORWARD_USERS: tuple[JsonDict, ...] = (
    shapes.user(shapes.FORWARDED_USER_ID, "Dmitry", "Volkov", "dvolkov"),
    shapes.user(1_377_410_902, "Sara", "Levi"),
    shapes.user(5_012_993_871, "田中", username="tanaka_k", is_premium=True),
)
_HIDDEN_NAMES = ("Марина К.", "Abu Khalid", "小林")
_CHANNELS: tuple[JsonDict, ...] = (
    {
        "id": shapes.CHANNEL_ID,
        "title": "Интерьер и дизайн 🏠",
        "username": "interior_daily",
        "type": "channel",
    },
    {
        "id": -1_002_211_334_455,
        "title": "Deals & Steals 🛍️",
        "username": "dealsnsteals",
        "type": "channel",
    },
    {"id": -1_001_500_600_700, "title": "أخبار التسوق", "type": "channel"},
)
_FORWARD_TEXTS = (
    "Мне этот магазин посоветовали 👇",
    "Look what I found, do you have this?",
    "هل عندكم مثل هذا؟",
    "这个有吗？",
)
_SIGNATURES = ("Елена", "Max", None)
_DOCS_IN = (
    ("Реквизиты ООО Ромашка.pdf", "application/pdf"),
    ("scan_passport.jpg", "image/jpeg"),
    ("план квартиры.pdf", "application/pdf"),
    ("見積書.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
)
_DOCS_OUT = (
    ("invoice.pdf", "application/pdf"),
    ("Прайс-лист 2025.pdf", "application/pdf"),
    ("catalog autumn 🍂.pdf", "application/pdf"),
)
_PHOTO_DIMENSIONS = ((1280, 960), (960, 1280), (1280, 720), (1080, 1080))
_VIDEO_DIMENSIONS = ((720, 1280), (1920, 1080), (480, 854))
_STICKERS = (("👍", "HotCherry"), ("😂", "UtyaDuck"), ("❤️", "Animals"), ("🙏", "PepeFrog"))

# --- state ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Person:
    """A Telegram user: the templates of its User and private Chat objects, copied on use."""

    user: JsonDict
    chat: JsonDict
    locale: _Locale


@dataclass(slots=True)
class _Owner:
    person: _Person
    connection_id: str
    last_message_id: int
    enabled: bool = True


@dataclass(slots=True)
class _Sent:
    """A sent message, compact: the full Message is rebuilt from it on demand."""

    message_id: int
    date: int
    outgoing: bool
    media: str
    text: str | None = None
    entities: list[JsonDict] | None = None
    extra: JsonDict | None = None
    by_bot: bool = False
    editable: bool = True
    edit_date: int | None = None
    reply_to: _Sent | None = None


@dataclass(slots=True)
class _Chat:
    owner: _Owner
    customer: _Person
    alive: list[_Sent]
    greeted: bool = False


# --- people -----------------------------------------------------------------------------------


def _connection_id(rng: random.Random) -> str:
    return base64.urlsafe_b64encode(rng.getrandbits(160).to_bytes(20, "big")).decode()[:27]


def _user_ids(rng: random.Random, count: int) -> list[int]:
    """``count`` distinct user ids spread over the ranges Telegram has handed out so far."""
    stride = _ID_SPAN // max(count, 1)
    slots = list(range(count))
    rng.shuffle(slots)
    return [_ID_FLOOR + slot * stride + rng.randrange(stride) for slot in slots]


def _unique_username(handle: str, used: dict[str, int]) -> str:
    """``handle``, then ``handle7``, ``handle10``...: handles never end in a digit, so no clash."""
    seen = used.get(handle, 0)
    used[handle] = seen + 1
    return handle if seen == 0 else f"{handle}{4 + 3 * seen}"


def _owner_person(index: int, user_id: int, used: dict[str, int]) -> _Person:
    """A business account owner: a preset for the first few, then names of the locales."""
    last: str | None
    if index < len(OWNER_PRESETS):
        first, last, handle, code = OWNER_PRESETS[index]
        locale = _LOCALE_BY_CODE[code]
    else:
        locale = LOCALES[index % len(LOCALES)]
        first, last, handle_or_none = locale.names[index % len(locale.names)]
        handle = f"{handle_or_none or 'shop'}_store"
    person = shapes.user(
        user_id,
        first,
        last,
        _unique_username(handle, used),
        language_code=locale.code,
        is_premium=True,
    )
    return _Person(person, shapes.private_chat(person), locale)


def _customer_person(rng: random.Random, index: int, user_id: int, used: dict[str, int]) -> _Person:
    locale = LOCALES[index % len(LOCALES)]
    first, last, handle = locale.names[(index + index // len(LOCALES)) % len(locale.names)]
    username = _unique_username(handle, used) if handle and rng.random() < 0.85 else None
    person = shapes.user(
        user_id,
        first,
        last,
        username,
        language_code=locale.code if rng.random() < 0.7 else None,
        is_premium=rng.random() < 0.15,
    )
    return _Person(person, shapes.private_chat(person), locale)


def _cast(
    rng: random.Random, owners: int, customers_per_owner: int
) -> tuple[list[_Owner], list[_Chat]]:
    """The owners and their chats; for owner n > 0 the last customer is owner n - 1's first."""
    shared = customers_per_owner >= 2
    unique = owners * customers_per_owner - (owners - 1 if shared else 0)
    ids = _user_ids(rng, owners + unique)
    used: dict[str, int] = {}
    owner_list = [
        _Owner(_owner_person(n, ids[n], used), _connection_id(rng), rng.randrange(900, 60_000))
        for n in range(owners)
    ]
    customers = [_customer_person(rng, n, ids[owners + n], used) for n in range(unique)]
    chats: list[_Chat] = []
    firsts: list[_Person] = []
    fresh = iter(customers)
    for n, owner in enumerate(owner_list):
        people = [next(fresh) for _ in range(customers_per_owner - (1 if shared and n else 0))]
        if shared and n:
            people.append(firsts[n - 1])
        firsts.append(people[0])
        chats.extend(_Chat(owner, person, []) for person in people)
    return owner_list, chats


# --- the feed ---------------------------------------------------------------------------------


def _clone(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts and lists), much faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {key: _clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clone(item) for item in value]
    return value


def _media_fields(sent: _Sent, owner_id: int) -> JsonDict:
    """The media of a message; file ids depend only on owner and message id."""
    mid = sent.message_id
    if sent.media == "photo":
        width, height = _PHOTO_DIMENSIONS[mid % len(_PHOTO_DIMENSIONS)]
        return {"photo": shapes.photo_sizes(width, height, owner_id, mid)}
    if sent.media == "video":
        width, height = _VIDEO_DIMENSIONS[mid % len(_VIDEO_DIMENSIONS)]
        name = f"VID_{20251121 + mid % 9}_{mid % 10_000:04d}.mp4"
        return {"video": shapes.video(3 + mid % 40, width, height, name, owner_id, mid)}
    if sent.media == "voice":
        return {"voice": shapes.voice(2 + mid % 55, owner_id, mid)}
    if sent.media == "sticker":
        emoji, set_name = _STICKERS[mid % len(_STICKERS)]
        return {"sticker": shapes.sticker(emoji, set_name, owner_id, mid)}
    if sent.media == "document":
        names = _DOCS_OUT if sent.outgoing else _DOCS_IN
        name, mime = names[mid % len(names)]
        size = 40_000 + (mid * 7_919) % 2_000_000
        return {"document": shapes.document(name, mime, size, owner_id, mid)}
    return {}


class _Feed:
    """Turns (chat, kind) steps into updates, with one clock and one update id counter."""

    def __init__(
        self,
        rng: random.Random,
        owners: list[_Owner],
        chats: list[_Chat],
        *,
        update_id: int,
        now: int,
        max_gap: int,
    ) -> None:
        self.rng = rng
        self.owners = owners
        self.chats = chats
        self.update_id = update_id
        self.now = now
        self.max_gap = max_gap
        self.actions: dict[str, Callable[[_Chat], list[JsonDict]]] = {
            "in_text": self._in_text,
            "out_text": self._out_text,
            "out_promo": self._out_promo,
            "bot_text": self._bot_text,
            "greeting": self._greeting,
            "in_photo": lambda chat: self._media(chat, False, "photo"),
            "out_photo": lambda chat: self._media(chat, True, "photo"),
            "in_video": lambda chat: self._media(chat, False, "video"),
            "in_voice": lambda chat: self._media(chat, False, "voice"),
            "out_voice": lambda chat: self._media(chat, True, "voice"),
            "in_document": lambda chat: self._media(chat, False, "document"),
            "out_document": lambda chat: self._media(chat, True, "document"),
            "in_sticker": lambda chat: self._media(chat, False, "sticker"),
            "album": self._album,
            "reply": self._reply,
            "forward_user": self._forward_user,
            "forward_hidden": self._forward_hidden,
            "forward_channel": self._forward_channel,
            "edit": self._edit,
            "delete": self._delete,
        }

    # time, ids and envelopes of updates

    def _emit(self, field: str, value: JsonDict) -> JsonDict:
        self.update_id += 1
        return {"update_id": self.update_id - 1, field: value}

    def _tick(self, at_least: int = 0) -> int:
        self.now += max(at_least, self.rng.randrange(self.max_gap + 1))
        return self.now

    def _pick(self, options: tuple[str, ...]) -> str:
        return options[self.rng.randrange(len(options))]

    def connection(self, owner: _Owner, *, enabled: bool) -> JsonDict:
        """A business_connection update: the bot connected (with rights) or disconnected."""
        owner.enabled = enabled
        value: JsonDict = {
            "id": owner.connection_id,
            "user": dict(owner.person.user),
            "user_chat_id": owner.person.user["id"],
            "date": self._tick(),
        }
        if enabled:
            value["rights"] = shapes.rights()
        value["is_enabled"] = enabled
        return self._emit("business_connection", value)

    def run(self, chat: _Chat, kind: str) -> list[JsonDict]:
        """The updates of one step; steps that need earlier messages fall back to a text."""
        return self.actions[kind](chat)

    # building messages

    def _message(self, chat: _Chat, sent: _Sent) -> JsonDict:
        owner = chat.owner
        person = owner.person if sent.outgoing else chat.customer
        out: JsonDict = {
            "business_connection_id": owner.connection_id,
            "message_id": sent.message_id,
            "from": dict(person.user),
            "chat": dict(chat.customer.chat),
            "date": sent.date,
        }
        if sent.by_bot:
            out["sender_business_bot"] = shapes.bot_user()
        if sent.reply_to is not None:
            out["reply_to_message"] = self._message(chat, sent.reply_to)
        if sent.edit_date is not None:
            out["edit_date"] = sent.edit_date
        if sent.extra:
            out.update(_clone(sent.extra))
        if sent.media != "text":
            out.update(_media_fields(sent, owner.person.user["id"]))
        if sent.text is not None:
            key = "text" if sent.media == "text" else "caption"
            out[key] = sent.text
            if sent.entities:
                out["entities" if key == "text" else "caption_entities"] = _clone(sent.entities)
        return out

    def _send(self, chat: _Chat, sent: _Sent) -> JsonDict:
        chat.alive.append(sent)
        if len(chat.alive) > _ALIVE_LIMIT:
            del chat.alive[0]
        return self._emit("business_message", self._message(chat, sent))

    def _new(
        self, chat: _Chat, outgoing: bool, media: str, *, gap: bool = True, **fields: Any
    ) -> _Sent:
        """A new message record; ids count per business account, with gaps for other chats."""
        chat.owner.last_message_id += 1 + (self.rng.randrange(3) if gap else 0)
        return _Sent(chat.owner.last_message_id, self.now, outgoing, media, **fields)

    def _say(self, chat: _Chat, outgoing: bool) -> str:
        locale = chat.customer.locale
        return self._pick(locale.outgoing if outgoing else locale.incoming)

    # the steps

    def _in_text(self, chat: _Chat) -> list[JsonDict]:
        self._tick()
        return [self._send(chat, self._new(chat, False, "text", text=self._say(chat, False)))]

    def _out_text(self, chat: _Chat) -> list[JsonDict]:
        self._tick()
        return [self._send(chat, self._new(chat, True, "text", text=self._say(chat, True)))]

    def _out_promo(self, chat: _Chat) -> list[JsonDict]:
        self._tick()
        phrase = self._say(chat, True)
        link = f"https://{chat.owner.person.user['username']}.example/sale"
        value = f"🔥 {phrase} {link}"
        entities = [shapes.entity(value, phrase, "bold"), shapes.entity(value, link, "url")]
        sent = self._new(chat, True, "text", text=value, entities=entities)
        return [self._send(chat, sent)]

    def _bot_text(self, chat: _Chat) -> list[JsonDict]:
        self._tick()
        order = str(10_000 + self.rng.randrange(90_000))
        value = chat.customer.locale.bot.format(order=order)
        sent = self._new(
            chat,
            True,
            "text",
            text=value,
            entities=[shapes.entity(value, order, "bold")],
            by_bot=True,
        )
        return [self._send(chat, sent)]

    def _greeting(self, chat: _Chat) -> list[JsonDict]:
        if chat.greeted:
            return self._out_text(chat)
        chat.greeted = True
        self._tick()
        sent = self._new(
            chat,
            True,
            "text",
            text=chat.customer.locale.away,
            extra={"is_from_offline": True},
            editable=False,
        )
        return [self._send(chat, sent)]

    def _caption(self, chat: _Chat, chance: float) -> str | None:
        if self.rng.random() < chance:
            return self._pick(chat.customer.locale.captions)
        return None

    def _media(self, chat: _Chat, outgoing: bool, media: str) -> list[JsonDict]:
        self._tick()
        caption = self._caption(chat, 0.5) if media in _EDITABLE_MEDIA else None
        sent = self._new(chat, outgoing, media, text=caption, editable=caption is not None)
        return [self._send(chat, sent)]

    def _album(self, chat: _Chat) -> list[JsonDict]:
        """A video and one or two photos sent together: one media_group_id, one date."""
        self._tick()
        group = {"media_group_id": str(13_000_000_000_000_000 + self.rng.getrandbits(59) % 10**18)}
        kinds = ["video", "photo"] + (["photo"] if self.rng.random() < 0.5 else [])
        caption = self._caption(chat, 1.0)
        out = []
        for index, media in enumerate(kinds):
            text = caption if index == 0 else None
            sent = self._new(
                chat, False, media, gap=index == 0, text=text, extra=group, editable=index == 0
            )
            out.append(self._send(chat, sent))
        return out

    def _reply(self, chat: _Chat) -> list[JsonDict]:
        """The other side answers an earlier message, quoting it as it is now."""
        if not chat.alive:
            return self._in_text(chat)
        target = chat.alive[self.rng.randrange(len(chat.alive))]
        self._tick(at_least=1)
        outgoing = not target.outgoing
        quoted = replace(target, reply_to=None)
        sent = self._new(chat, outgoing, "text", text=self._say(chat, outgoing), reply_to=quoted)
        return [self._send(chat, sent)]

    def _forward(self, chat: _Chat, origin: JsonDict, legacy: JsonDict) -> list[JsonDict]:
        extra = {"forward_origin": origin, **legacy, "forward_date": origin["date"]}
        text = self._pick(_FORWARD_TEXTS)
        sent = self._new(chat, False, "text", text=text, extra=extra, editable=False)
        return [self._send(chat, sent)]

    def _origin_date(self) -> int:
        return self._tick() - 3_600 - self.rng.randrange(90 * 86_400)

    def _forward_user(self, chat: _Chat) -> list[JsonDict]:
        sender = _FORWARD_USERS[self.rng.randrange(len(_FORWARD_USERS))]
        origin = {"type": "user", "date": self._origin_date(), "sender_user": sender}
        return self._forward(chat, origin, {"forward_from": sender})

    def _forward_hidden(self, chat: _Chat) -> list[JsonDict]:
        name = self._pick(_HIDDEN_NAMES)
        origin = {"type": "hidden_user", "date": self._origin_date(), "sender_user_name": name}
        return self._forward(chat, origin, {"forward_sender_name": name})

    def _forward_channel(self, chat: _Chat) -> list[JsonDict]:
        channel = _CHANNELS[self.rng.randrange(len(_CHANNELS))]
        post = 1 + self.rng.randrange(60_000)
        signature = _SIGNATURES[self.rng.randrange(len(_SIGNATURES))]
        origin: JsonDict = {"type": "channel", "chat": channel, "message_id": post}
        legacy: JsonDict = {"forward_from_chat": channel, "forward_from_message_id": post}
        if signature is not None:
            origin["author_signature"] = legacy["forward_signature"] = signature
        origin["date"] = self._origin_date()
        return self._forward(chat, origin, legacy)

    def _edit(self, chat: _Chat) -> list[JsonDict]:
        """An earlier text or caption gets a correction appended; entities stay valid."""
        candidates = [sent for sent in chat.alive if sent.editable and sent.text is not None]
        if not candidates:
            return self._in_text(chat)
        sent = candidates[self.rng.randrange(len(candidates))]
        sent.text = f"{sent.text}{self._pick(chat.customer.locale.corrections)}"
        sent.edit_date = self._tick(at_least=1)
        return [self._emit("edited_business_message", self._message(chat, sent))]

    def _delete(self, chat: _Chat) -> list[JsonDict]:
        """One or two earlier messages are deleted (at least two stay to refer to)."""
        if len(chat.alive) < 3:
            return self._in_text(chat)
        count = 1 + (self.rng.random() < 0.3)
        gone = {sent.message_id for sent in self.rng.sample(chat.alive, count)}
        chat.alive = [sent for sent in chat.alive if sent.message_id not in gone]
        self._tick()
        value = {
            "business_connection_id": chat.owner.connection_id,
            "chat": dict(chat.customer.chat),
            "message_ids": sorted(gone),
        }
        return [self._emit("deleted_business_messages", value)]


# --- demo_updates -----------------------------------------------------------------------------

_WEIGHTS: dict[str, int] = {
    "in_text": 30,
    "out_text": 24,
    "out_promo": 2,
    "bot_text": 6,
    "in_photo": 6,
    "out_photo": 3,
    "in_video": 2,
    "in_voice": 4,
    "out_voice": 1,
    "in_document": 2,
    "out_document": 2,
    "in_sticker": 4,
    "album": 2,
    "reply": 8,
    "forward_user": 1,
    "forward_hidden": 1,
    "forward_channel": 1,
    "edit": 3,
    "delete": 2,
    "greeting": 1,
}
_TABLE: tuple[str, ...] = tuple(kind for kind, weight in _WEIGHTS.items() for _ in range(weight))
_MESSAGE_TABLE = tuple(kind for kind in _TABLE if kind not in ("edit", "delete", "greeting"))
_REQUIRED = (
    "bot_text",
    "out_promo",
    "in_photo",
    "in_voice",
    "in_document",
    "out_document",
    "in_sticker",
    "in_video",
    "album",
    "reply",
    "forward_user",
    "forward_hidden",
    "forward_channel",
    "out_text",
)


def _scripts(rng: random.Random, chats: int, messages_per_chat: int) -> list[list[str]]:
    """Per chat: its steps in order, every required kind placed at least once when room allows."""
    plans = []
    for index in range(chats):
        plan = ["in_text"] + [
            _MESSAGE_TABLE[rng.randrange(len(_MESSAGE_TABLE))] for _ in range(messages_per_chat - 1)
        ]
        if messages_per_chat > 2 and (index == 0 or rng.random() < 0.3):
            plan[1] = "greeting"
        plans.append(plan)
    for number, kind in enumerate(_REQUIRED):
        position = messages_per_chat - 1 - number // chats
        if position >= 2:
            plans[number % chats][position] = kind
    scripts = []
    for index, plan in enumerate(plans):
        script: list[str] = []
        for position, kind in enumerate(plan):
            script.append(kind)
            if position >= 2 and rng.random() < 0.15:
                script.append("edit")
            if position >= 3 and rng.random() < 0.1:
                script.append("delete")
        if index == 0:
            script.append("edit")
        if index == min(1, chats - 1):
            script.append("delete")
        scripts.append(script)
    return scripts


def _schedule(
    rng: random.Random, chats: list[_Chat], scripts: list[list[str]], last: _Owner
) -> tuple[list[int], int]:
    """A random interleaving of the chats' steps, and where ``last`` disconnects (near the end).

    Steps of ``last``'s chats that fell after that point are moved before it, in order.
    """
    order = [index for index, script in enumerate(scripts) for _ in script]
    rng.shuffle(order)
    cut = len(order) - max(1, len(order) // 20)
    tail = order[cut:]
    moved = [index for index in tail if chats[index].owner is last]
    rest = [index for index in tail if chats[index].owner is not last]
    return order[:cut] + moved + rest, cut + len(moved)


def demo_updates(
    *,
    seed: int = 7,
    owners: int = 3,
    customers_per_owner: int = 4,
    messages_per_chat: int = 8,
    start_update_id: int = 100_000_000,
    start_date: int = 1_763_700_000,
) -> list[JsonDict]:
    """A whole realistic feed: connections first, interleaved conversations, one disconnect.

    Each chat gets ``messages_per_chat`` new messages (an album counts once) plus edits and
    deletes. The last owner's ``business_connection`` with ``is_enabled: false`` comes near
    the end, after that owner's last message.
    """
    if owners < 1 or customers_per_owner < 1 or messages_per_chat < 1:
        raise ValueError("owners, customers_per_owner and messages_per_chat must be positive")
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    owner_list, chats = _cast(rng, owners, customers_per_owner)
    feed = _Feed(rng, owner_list, chats, update_id=start_update_id, now=start_date, max_gap=240)
    out = [feed.connection(owner, enabled=True) for owner in owner_list]
    scripts = _scripts(rng, len(chats), messages_per_chat)
    order, disconnect_at = _schedule(rng, chats, scripts, owner_list[-1])
    done = [0] * len(chats)
    for position, index in enumerate(order):
        if position == disconnect_at:
            out.append(feed.connection(owner_list[-1], enabled=False))
        out.extend(feed.run(chats[index], scripts[index][done[index]]))
        done[index] += 1
    if disconnect_at == len(order):
        out.append(feed.connection(owner_list[-1], enabled=False))
    return out


# --- stream_updates ---------------------------------------------------------------------------


def stream_updates(
    count: int,
    *,
    seed: int = 7,
    owners: int = 50,
    customers_per_owner: int = 200,
) -> Iterator[JsonDict]:
    """``count`` updates of the same kinds, generated lazily with bounded state, for benchmarks.

    All owners connect first; then random chats take random steps. Now and then an owner
    disconnects; its next chat step is a reconnection instead.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    return itertools.islice(_endless(seed, owners, customers_per_owner), count)


def _endless(seed: int, owners: int, customers_per_owner: int) -> Iterator[JsonDict]:
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    owner_list, chats = _cast(rng, owners, customers_per_owner)
    feed = _Feed(rng, owner_list, chats, update_id=1, now=1_763_700_000, max_gap=2)
    for owner in owner_list:
        yield feed.connection(owner, enabled=True)
    table, size, total = _TABLE, len(_TABLE), len(chats)
    while True:
        if rng.random() < 0.0002:
            victim = owner_list[rng.randrange(len(owner_list))]
            if victim.enabled:
                yield feed.connection(victim, enabled=False)
        chat = chats[rng.randrange(total)]
        if not chat.owner.enabled:
            yield feed.connection(chat.owner, enabled=True)
        elif not chat.alive:
            yield from feed.run(chat, "in_text")
        else:
            yield from feed.run(chat, table[rng.randrange(size)])
