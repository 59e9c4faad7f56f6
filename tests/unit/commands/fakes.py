"""Fakes of the command executor's ports, and a Bot API that also serves files.

``PhotoBotApi`` answers ``getUserProfilePhotos``, ``getFile``, ``readBusinessMessage`` and file
downloads for a dictionary of profile photos, through aiogram's real parsing (``FakeBotApi``);
``fail_next`` queues error answers. ``ScriptedEdge`` is a plain TelegramEdge whose attempts raise
the errors it is given, first. The memory stores keep what S3 and PostgreSQL would.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiogram import Bot
from telethon.tl import types

from chatsync.agents.commands.errors import NotStoredYet
from chatsync.agents.commands.s3store import avatar_key
from chatsync.dlq import Headers
from chatsync.producers.botapi.client import make_bot
from tests.fakes.telegram import FakeBotApi, ok
from tests.fakes.telethon import RecordingPublisher

TOKEN = "4242424242:AAFakeTokenFakeTokenFakeTokenFakeTok"
BOT_ID = 4242424242
Answer = tuple[int, dict[str, Any]]


class PhotoBotApi(FakeBotApi):
    """The Bot API of a world where ``photos[user_id]`` is the user's profile photo (or None)."""

    def __init__(self, photos: dict[int, bytes | None] | None = None) -> None:
        super().__init__(self._answer)
        self.photos: dict[int, bytes | None] = dict(photos or {})
        self.failures: dict[str, list[Answer]] = {}
        self.downloads: list[str] = []
        self.read_marks: list[dict[str, Any]] = []

    def bot(self) -> Bot:
        bot, _ = make_bot(TOKEN, session=self)
        return bot

    def fail_next(self, method: str, *answers: Answer) -> None:
        """Answer the next calls of ``method`` with these (status, body) pairs first."""
        self.failures.setdefault(method, []).extend(answers)

    def methods(self) -> list[str]:
        return [name for name, _ in self.calls]

    def _answer(self, name: str, params: dict[str, Any]) -> Answer:
        if self.failures.get(name):
            return self.failures[name].pop(0)
        if name == "getUserProfilePhotos":
            photo = self.photos.get(params["user_id"])
            if photo is None:
                return ok({"total_count": 0, "photos": []})
            digest = hashlib.sha256(photo).hexdigest()[:16]
            sizes = [_size(f"small-{digest}", 160, 100), _size(f"big-{digest}", 640, 1000),
                     _size(f"mid-{digest}", 320, 400)]  # fmt: skip
            return ok({"total_count": 1, "photos": [sizes]})
        if name == "getFile":
            file_id = params["file_id"]
            return ok({"file_id": file_id, "file_unique_id": file_id, "file_path": f"p/{file_id}"})
        if name == "readBusinessMessage":
            self.read_marks.append(params)
            return ok(True)
        raise AssertionError(f"unexpected Bot API call {name}")

    async def stream_content(
        self, url: str, headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - the signature of aiogram's session
        chunk_size: int = 65536, raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:  # fmt: skip
        path = url.split(f"/file/bot{TOKEN}/", 1)[1]
        self.downloads.append(path)
        file_id = path.removeprefix("p/")
        assert file_id.startswith("big-"), "the largest size is downloaded"
        photo = next(p for p in self.photos.values() if p and _digest(p) == file_id[4:])
        for start in range(0, len(photo), 4):
            yield photo[start : start + 4]


def _size(file_id: str, side: int, size: int) -> dict[str, Any]:
    return {"file_id": file_id, "file_unique_id": file_id, "width": side, "height": side,
            "file_size": size}  # fmt: skip


def _digest(photo: bytes) -> str:
    return hashlib.sha256(photo).hexdigest()[:16]


@dataclass(frozen=True)
class DealRow:
    """What ``request_read`` needs of a deal (``requests.DealRef``), as the API's row has it."""

    deal_id: str
    owner_user_id: int
    chat_id: int
    source: str
    business_connection_id: str | None


@dataclass
class ScriptedEdge:
    """A TelegramEdge: ``errors`` are raised by the first attempts, in order."""

    photos: dict[int, bytes | None] = field(default_factory=dict)
    errors: list[Exception] = field(default_factory=list)
    photo_calls: list[int] = field(default_factory=list)
    reads: list[tuple[int, int, str | None]] = field(default_factory=list)

    async def profile_photo(self, user_id: int) -> bytes | None:
        self.photo_calls.append(user_id)
        self._fail()
        return self.photos.get(user_id)

    async def mark_read(
        self, chat_id: int, max_id: int, business_connection_id: str | None
    ) -> None:
        self._fail()
        self.reads.append((chat_id, max_id, business_connection_id))

    def _fail(self) -> None:
        if self.errors:
            raise self.errors.pop(0)


@dataclass
class MemoryAvatarStore:
    objects: dict[str, bytes] = field(default_factory=dict)
    puts: int = 0

    async def put(self, photo: bytes) -> str:
        key = avatar_key(photo)
        if key not in self.objects:
            self.puts += 1
            self.objects[key] = photo
        return key


@dataclass
class MemoryCustomers:
    """CustomerAvatars: ``rows`` customer id -> (avatar key, checked at)."""

    rows: dict[str, tuple[str | None, datetime | None]] = field(default_factory=dict)
    on_missing: Callable[[str], Awaitable[None]] | None = None

    def add(self, customer_id: str) -> None:
        self.rows[customer_id] = (None, None)

    async def exists(self, customer_id: str) -> bool:
        found = customer_id in self.rows
        if not found and self.on_missing is not None:
            await self.on_missing(customer_id)
        return found

    async def record(self, customer_id: str, avatar_key: str | None, checked_at: datetime) -> bool:
        if customer_id not in self.rows:
            return False
        self.rows[customer_id] = (avatar_key, checked_at)
        return True


@dataclass
class MemoryDeals:
    """DealReads: ``latest`` deal id -> latest incoming message id (None: the latest is ours)."""

    latest: dict[str, int | None] = field(default_factory=dict)

    async def latest_incoming(self, deal_id: str) -> int | None:
        if deal_id not in self.latest:
            raise NotStoredYet(f"deal {deal_id} is not stored yet")
        return self.latest[deal_id]


@dataclass(frozen=True)
class FakeRecord:
    value: bytes
    key: bytes | None = None
    topic: str = "chat.commands"
    partition: int = 0
    offset: int = 0


class Sleeps:
    """An asyncio.sleep that returns at once and remembers what it was asked."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@dataclass
class HeadersPublisher(RecordingPublisher):
    """RecordingPublisher that also keeps each record's headers."""

    headers: list[dict[str, bytes]] = field(default_factory=list)

    async def publish(
        self, topic: str, key: bytes | None, value: bytes, *, headers: Headers | None = None,
        dedupe_key: str | None = None,
    ) -> None:  # fmt: skip
        await super().publish(topic, key, value, headers=headers, dedupe_key=dedupe_key)
        self.headers.append(dict(headers or []))


@dataclass
class FakeTelethonClient:
    """The TelegramClient methods TelethonCommands calls."""

    photos: dict[int, bytes | None] = field(default_factory=dict)
    errors: list[Exception] = field(default_factory=list)
    read_marks: list[tuple[int, int]] = field(default_factory=list)

    async def get_input_entity(self, peer: int) -> Any:
        return types.InputPeerUser(peer, 77)

    async def download_profile_photo(self, entity: Any, file: Any) -> bytes | None:
        self._fail()
        return self.photos.get(entity.user_id)

    async def send_read_acknowledge(self, entity: Any, max_id: int) -> bool:
        self._fail()
        self.read_marks.append((entity.user_id, max_id))
        return True

    def _fail(self) -> None:
        if self.errors:
            raise self.errors.pop(0)
