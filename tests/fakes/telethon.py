"""Fakes of the Telethon edge's ports, built on Telethon's real TL objects (no network).

``tl_message`` and friends build ``telethon.tl.types`` objects as Telegram would send them;
``FakeHistory`` serves dialogs and history like ``iter_dialogs``/``iter_messages`` (newest first,
flood waits on request); ``RecordingPublisher`` keeps what would have gone to Kafka.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from telethon import errors
from telethon.tl import types

from chatsync.dlq import Headers
from chatsync.envelopes import RawEnvelope
from chatsync.producers.errors import PublishUnavailable
from chatsync.producers.telethon.history import DialogRef

ACCOUNT = 5_550_001
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def tl_message(
    message_id: int,
    chat: int | types.TypePeer,
    *,
    hours: float = 0,
    text: str = "hi",
    out: bool = False,
    **fields: Any,
) -> types.Message:
    """A private-chat message (``chat``: the other user's id) or one in the given peer."""
    peer = types.PeerUser(chat) if isinstance(chat, int) else chat
    sender = types.PeerUser(ACCOUNT) if out else (peer if isinstance(chat, int) else None)
    return types.Message(
        id=message_id,
        peer_id=peer,
        date=at(hours),
        message=text,
        out=out,
        from_id=sender,
        **fields,
    )


def tl_photo(photo_id: int = 77) -> types.MessageMediaPhoto:
    return types.MessageMediaPhoto(
        photo=types.Photo(
            id=photo_id,
            access_hash=-123456789,
            file_reference=b"\x00\x01ref\xff",
            date=T0,
            sizes=[types.PhotoSize(type="x", w=800, h=600, size=51234)],
            dc_id=2,
        )
    )


def tl_document(doc_id: int = 88) -> types.MessageMediaDocument:
    return types.MessageMediaDocument(
        document=types.Document(
            id=doc_id,
            access_hash=42,
            file_reference=b"\xde\xad\xbe\xef",
            date=T0,
            mime_type="application/pdf",
            size=1024,
            dc_id=4,
            attributes=[types.DocumentAttributeFilename(file_name="offer.pdf")],
        )
    )


class Crash(BaseException):
    """A process dying: no handler of the code under test runs for it."""


@dataclass
class Record:
    topic: str
    key: bytes | None
    value: bytes
    dedupe_key: str | None

    @property
    def envelope(self) -> RawEnvelope:
        return RawEnvelope.from_bytes(self.value)


@dataclass
class RecordingPublisher:
    """Publisher in memory: ``failures`` calls raise PublishUnavailable first; once ``crash_after``
    records are kept, the next call raises Crash; ``on_publish`` runs before each record."""

    failures: int = 0
    crash_after: int | None = None
    on_publish: Callable[[int], Awaitable[None]] | None = None
    records: list[Record] = field(default_factory=list)
    attempts: int = 0

    async def publish(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        *,
        headers: Headers | None = None,
        dedupe_key: str | None = None,
    ) -> None:
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise PublishUnavailable("broker down")
        if self.crash_after is not None and len(self.records) >= self.crash_after:
            self.crash_after = None
            raise Crash
        if self.on_publish is not None:
            await self.on_publish(len(self.records))
        self.records.append(Record(topic, key, value, dedupe_key))

    def envelopes(self) -> list[RawEnvelope]:
        return [r.envelope for r in self.records]


@dataclass
class FakeHistory:
    """HistoryClient over a dict chat -> messages; ``flood_before[(chat, message_id)] = s``
    raises FloodWaitError(s) once, just before that message would be served."""

    chats: dict[int, list[types.Message]]
    peers: dict[int, Any] = field(default_factory=dict)
    flood_before: dict[tuple[int, int], int] = field(default_factory=dict)
    fail_before: dict[tuple[int, int], Exception] = field(default_factory=dict)
    calls: list[tuple[int, int]] = field(default_factory=list)

    async def dialogs(self) -> AsyncIterator[DialogRef]:
        for chat_id in self.chats:
            yield DialogRef(chat_id, self.peers.get(chat_id, types.PeerUser(chat_id)))

    async def messages(
        self, dialog: DialogRef, *, offset_id: int, before: datetime
    ) -> AsyncIterator[Any]:
        self.calls.append((dialog.chat_id, offset_id))
        newest_first = sorted(self.chats[dialog.chat_id], key=lambda m: m.id, reverse=True)
        for message in newest_first:
            if offset_id and message.id >= offset_id:
                continue
            if not offset_id and message.date >= before:
                continue
            key = (dialog.chat_id, message.id)
            if key in self.flood_before:
                raise errors.FloodWaitError(None, capture=self.flood_before.pop(key))
            if key in self.fail_before:
                raise self.fail_before.pop(key)
            yield message


class DictIndex:
    """ChatIndex in a dict."""

    def __init__(self) -> None:
        self.pairs: dict[int, int] = {}

    def record(self, pairs: Any) -> None:
        self.pairs.update(pairs)

    def lookup(self, message_ids: Any) -> dict[int, int]:
        return {i: self.pairs[i] for i in message_ids if i in self.pairs}


@dataclass
class FakeUser:
    id: int
    first_name: str | None = "Ada"
    last_name: str | None = None
    username: str | None = "ada"


@dataclass
class FakeLoginClient:
    """LoginClient: ``code_errors``/``password_errors`` are raised by successive sign-ins."""

    authorized: bool = False
    two_factor: bool = False
    password: str = "correct horse"
    code: str = "12345"
    send_error: Exception | None = None
    code_error: Exception | None = None
    calls: list[str] = field(default_factory=list)
    _code_ok: bool = False

    async def connect(self) -> None:
        self.calls.append("connect")

    async def is_user_authorized(self) -> bool:
        return self.authorized

    async def send_code_request(self, phone: str) -> Any:
        self.calls.append(f"send_code:{phone}")
        if self.send_error is not None:
            raise self.send_error
        return types.auth.SentCode(
            type=types.auth.SentCodeTypeApp(length=5), phone_code_hash="hash-1"
        )

    async def sign_in(
        self,
        phone: str | None = None,
        code: str | None = None,
        *,
        password: str | None = None,
        phone_code_hash: str | None = None,
    ) -> Any:
        if password is not None:
            self.calls.append("sign_in:password")
            if not self._code_ok or password != self.password:
                raise errors.PasswordHashInvalidError(None)
        else:
            self.calls.append(f"sign_in:{code}:{phone_code_hash}")
            if self.code_error is not None:
                raise self.code_error
            if code != self.code:
                raise errors.PhoneCodeInvalidError(None)
            self._code_ok = True
            if self.two_factor:
                raise errors.SessionPasswordNeededError(None)
        self.authorized = True
        return FakeUser(ACCOUNT)

    async def get_me(self) -> Any:
        return FakeUser(ACCOUNT)


@dataclass
class Prompts:
    """Fixed answers (None: not given, nobody to ask)."""

    phone_answer: str | None = "+4915100000000"
    code_answer: str | None = "12345"
    password_answer: str | None = None

    def phone(self) -> str | None:
        return self.phone_answer

    def code(self) -> str | None:
        return self.code_answer

    def password(self) -> str | None:
        return self.password_answer


@dataclass
class FakeLiveConnection:
    """LiveConnection: each ``connect`` takes the next step of ``plan`` (an exception to raise,
    or None to connect); ``catch_up`` submits ``missed`` to ``sink``; a connection drops at once
    while steps remain, and the last one calls ``on_last`` and waits for ``disconnect``."""

    plan: list[Exception | None]
    sink: Any = None
    missed: list[tuple[str, Any]] = field(default_factory=list)
    on_last: Callable[[], None] = lambda: None
    log: list[str] = field(default_factory=list)

    async def connect(self) -> int:
        self.log.append("connect")
        step = self.plan.pop(0)
        if step is not None:
            raise step
        return ACCOUNT

    async def catch_up(self) -> None:
        self.log.append("catch_up")
        for update_type, obj in self.missed:
            await self.sink.submit(update_type, obj)
        self.missed = []

    async def wait_disconnected(self) -> None:
        if self.plan:
            self.log.append("dropped")
            return
        self.on_last()
        await asyncio.Event().wait()

    async def disconnect(self) -> None:
        self.log.append("disconnect")
