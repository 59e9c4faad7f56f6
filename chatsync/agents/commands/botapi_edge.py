"""The Business bot side of the edge, through aiogram's Bot (its session is the test seam).

Avatars: ``getUserProfilePhotos`` (limit 1), the largest size of the newest photo, ``getFile``,
then the file download. Read marks: ``readBusinessMessage``. aiogram's exceptions become the
executor's: 429 -> RetryLater (``retry_after`` obeyed), network and 5xx -> TelegramUnavailable,
the other refusals (400, 401, 403, 404, 409) -> Refused.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from chatsync.agents.commands.errors import Refused, RetryLater, TelegramUnavailable


class BotApiEdge:
    """AvatarSource and ReadMarker over an aiogram Bot."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def profile_photo(self, user_id: int) -> bytes | None:
        async with _translated(f"the profile photo of user {user_id}"):
            photos = await self._bot.get_user_profile_photos(user_id, limit=1)
            if not photos.photos or not photos.photos[0]:
                return None
            largest = max(photos.photos[0], key=lambda size: size.width * size.height)
            file = await self._bot.get_file(largest.file_id)
            if not file.file_path:
                raise TelegramUnavailable(f"getFile gave no file_path for user {user_id}'s photo")
            buffer = io.BytesIO()
            await self._bot.download_file(file.file_path, destination=buffer)
            return buffer.getvalue()

    async def mark_read(
        self, chat_id: int, max_id: int, business_connection_id: str | None
    ) -> None:
        if not business_connection_id:
            raise Refused(f"chat {chat_id}: a Business read mark needs business_connection_id")
        async with _translated(f"the read mark of chat {chat_id} up to {max_id}"):
            await self._bot.read_business_message(
                business_connection_id=business_connection_id, chat_id=chat_id, message_id=max_id
            )


@asynccontextmanager
async def _translated(what: str) -> AsyncIterator[None]:
    try:
        yield
    except TelegramRetryAfter as exc:
        raise RetryLater(float(exc.retry_after), what) from exc
    except TelegramEntityTooLarge as exc:
        raise Refused(f"{what}: {exc}") from exc
    except (TelegramNetworkError, TelegramServerError, ClientDecodeError) as exc:
        raise TelegramUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc
    except (aiohttp.ClientError, TimeoutError) as exc:  # the file download
        raise TelegramUnavailable(f"{what}: download failed: {type(exc).__name__}: {exc}") from exc
    except TelegramAPIError as exc:
        raise Refused(f"{what}: {type(exc).__name__}: {exc}") from exc
