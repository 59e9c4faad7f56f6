"""``chatsync polling``: getUpdates for owners without a public URL.

Telegram keeps an update until a later getUpdates call passes an ``offset`` above its id. The loop
asks for updates after the last one Kafka acknowledged, publishes each, records its id on disk
only after the acknowledgement, and only then asks again: a restart resumes after the last
published update, so nothing is lost and nothing is published twice (a crash between the
acknowledgement and the write of the offset file repeats at most one update, which the agents
deduplicate by update id).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any, Protocol

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)

from chatsync.producers.botapi.client import ALLOWED_UPDATES, RawJson
from chatsync.producers.botapi.ingest import BotApiIngest
from chatsync.producers.errors import ProducerError, PublishUnavailable

log = logging.getLogger(__name__)
LONG_POLL_S = 25
MAX_BACKOFF_S = 30.0


class UpdateFeed(Protocol):
    """Where updates come from: Telegram (AiogramFeed) or a fake in tests."""

    async def fetch(self, offset: int | None, timeout_s: int) -> list[dict[str, Any]]: ...


class AiogramFeed:
    """getUpdates through aiogram, returning each update's JSON as Telegram sent it."""

    def __init__(self, bot: Bot, raw: RawJson) -> None:
        self._bot, self._raw = bot, raw

    async def fetch(self, offset: int | None, timeout_s: int) -> list[dict[str, Any]]:
        self._raw.last = None
        try:
            await self._bot.get_updates(
                offset=offset, timeout=timeout_s, allowed_updates=ALLOWED_UPDATES,
                request_timeout=timeout_s + 10,
            )  # fmt: skip
        except ClientDecodeError:
            # aiogram could not model one of the updates; the raw response is still good.
            if not _is_ok_response(self._raw.last):
                raise
        response = self._raw.last
        return list(response["result"]) if _is_ok_response(response) else []


def _is_ok_response(response: Any) -> bool:
    return (
        isinstance(response, dict)
        and response.get("ok") is True
        and (isinstance(response.get("result"), list))
    )


class OffsetFile:
    """The id of the last update Kafka acknowledged, kept in one small file (atomic replace)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> int | None:
        try:
            return int(self.path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def save(self, update_id: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w") as handle:
            handle.write(f"{update_id}\n")
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.path)


class PollingProducer:
    """The getUpdates loop; ``run`` returns when ``stop`` is called."""

    def __init__(
        self, feed: UpdateFeed, ingest: BotApiIngest, offsets: OffsetFile, *,
        retry_after_s: float = 0.5,
    ) -> None:  # fmt: skip
        self._feed, self._ingest, self._offsets = feed, ingest, offsets
        self._first_backoff = retry_after_s
        self._stopping = asyncio.Event()
        self.published = 0

    def stop(self) -> None:
        self._stopping.set()

    async def run(self, long_poll_s: int = LONG_POLL_S) -> None:
        last = self._offsets.load()
        backoff = self._first_backoff
        while not self._stopping.is_set():
            try:
                updates = await self._feed.fetch(None if last is None else last + 1, long_poll_s)
            except TelegramConflictError as exc:
                raise ProducerError(
                    "Telegram refuses getUpdates while a webhook is set: "
                    "run `chatsync webhook delete` first"
                ) from exc
            except TelegramUnauthorizedError as exc:
                raise ProducerError("Telegram refused TELEGRAM_BOT_TOKEN (401)") from exc
            except TelegramRetryAfter as exc:
                await self._sleep(float(exc.retry_after))
                continue
            except (TelegramNetworkError, TelegramServerError, ClientDecodeError) as exc:
                log.warning("getUpdates failed (%s); retrying in %.0f s", exc, backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            backoff = self._first_backoff
            last = await self._publish_all(updates, last)

    async def _publish_all(self, updates: list[dict[str, Any]], last: int | None) -> int | None:
        for update in updates:
            update_id = update.get("update_id")
            if not isinstance(update_id, int):
                body = json.dumps(update, ensure_ascii=False).encode()
                await self._ingest.dead_letter(body, "no integer update_id")
                continue
            if last is not None and update_id <= last:
                continue  # published before a restart
            await self._publish_one(update)
            self._offsets.save(update_id)
            self.published += 1
            last = update_id
        return last

    async def _publish_one(self, update: dict[str, Any]) -> None:
        backoff = self._first_backoff
        while True:
            try:
                await self._ingest.ingest(update)
                return
            except PublishUnavailable as exc:
                if self._stopping.is_set():
                    raise
                log.warning("Kafka unavailable (%s); retrying in %.1f s", exc, backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return
