"""The executor's ports: the Telegram edge and the stores, as small Protocols (fakes in tests).

Edge implementations translate their library's errors into ``chatsync.agents.commands.errors``:
RetryLater, TelegramUnavailable, Refused. Store implementations raise StoreUnavailable when the
store does not answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chatsync.agents.commands.errors import RetryLater
from chatsync.agents.commands.ratelimit import TokenBucket


class AvatarSource(Protocol):
    async def profile_photo(self, user_id: int) -> bytes | None:
        """The user's current profile photo (JPEG bytes), or None when there is none."""
        ...


class ReadMarker(Protocol):
    async def mark_read(
        self, chat_id: int, max_id: int, business_connection_id: str | None
    ) -> None:
        """Mark the chat's incoming messages up to ``max_id`` as read by the owner."""
        ...


class TelegramEdge(AvatarSource, ReadMarker, Protocol):
    """One side of the edge (the Business bot, or one Telethon account)."""


class AvatarStore(Protocol):
    async def put(self, photo: bytes) -> str:
        """Store the photo content-addressed; return its key (unchanged photos: the same key)."""
        ...


class CustomerAvatars(Protocol):
    async def exists(self, customer_id: str) -> bool:
        """Whether the customer's row is stored yet."""
        ...

    async def record(self, customer_id: str, avatar_key: str | None, checked_at: datetime) -> bool:
        """Set the row's avatar; False when the row does not exist (yet)."""
        ...


class DealReads(Protocol):
    async def latest_incoming(self, deal_id: str) -> int | None:
        """The id of the deal's latest message when it is incoming, else None (nothing unread).
        NotStoredYet when the deal's row is not stored yet."""
        ...


class Throttled:
    """A TelegramEdge behind a token bucket: one token per operation (an avatar fetch, a read
    mark); Telegram's "wait" holds the bucket for every later operation of this edge."""

    def __init__(self, edge: TelegramEdge, bucket: TokenBucket) -> None:
        self._edge, self._bucket = edge, bucket

    async def profile_photo(self, user_id: int) -> bytes | None:
        await self._bucket.acquire()
        try:
            return await self._edge.profile_photo(user_id)
        except RetryLater as exc:
            self._bucket.hold(exc.seconds)
            raise

    async def mark_read(
        self, chat_id: int, max_id: int, business_connection_id: str | None
    ) -> None:
        await self._bucket.acquire()
        try:
            await self._edge.mark_read(chat_id, max_id, business_connection_id)
        except RetryLater as exc:
            self._bucket.hold(exc.seconds)
            raise
