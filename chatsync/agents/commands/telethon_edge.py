"""The account side of the edge: a Telethon account through its commands port.

``TelegramCommands`` (``producers.telethon.commands``) downloads profile photos and sends read
acknowledgements; its errors become the executor's: a flood wait -> RetryLater, another refusal
-> Refused, Telegram's own failures (500, timeouts) and a dropped connection ->
TelegramUnavailable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telethon import errors

from chatsync.agents.commands.errors import Refused, RetryLater, TelegramUnavailable
from chatsync.producers.telethon.commands import TelegramCommands
from chatsync.producers.telethon.errors import CommandError, CommandRetryLater


class TelethonEdge:
    """AvatarSource and ReadMarker over one account's TelegramCommands."""

    def __init__(self, commands: TelegramCommands) -> None:
        self._commands = commands

    async def profile_photo(self, user_id: int) -> bytes | None:
        async with _translated(f"the profile photo of user {user_id}"):
            return await self._commands.profile_photo(user_id)

    async def mark_read(
        self, chat_id: int, max_id: int, business_connection_id: str | None
    ) -> None:
        async with _translated(f"the read mark of chat {chat_id} up to {max_id}"):
            await self._commands.mark_read(chat_id, max_id)


@asynccontextmanager
async def _translated(what: str) -> AsyncIterator[None]:
    try:
        yield
    except CommandRetryLater as exc:
        raise RetryLater(float(exc.retry_after_s), what) from exc
    except CommandError as exc:
        if isinstance(exc.__cause__, errors.ServerError | errors.TimedOutError):
            raise TelegramUnavailable(f"{what}: {exc}") from exc
        raise Refused(f"{what}: {exc}") from exc
    except (ConnectionError, TimeoutError) as exc:
        raise TelegramUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc
