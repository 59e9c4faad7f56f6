"""Commands other parts of chatsync give the Telegram edge: fetch an avatar, mark a chat read.

``TelegramCommands`` is the port (a fake in tests); ``TelethonCommands`` carries the commands
out with a connected TelegramClient of the account. Users are found through the entities the
session remembers (every user the account has seen in an update or a dialog).
"""

from __future__ import annotations

from typing import Any, Protocol

from telethon import errors

from chatsync.producers.telethon.errors import CommandError, CommandRetryLater


class TelegramCommands(Protocol):
    async def profile_photo(self, user_id: int) -> bytes | None:
        """The user's current profile photo (JPEG bytes), or None when there is none."""
        ...

    async def mark_read(self, chat_id: int, max_id: int) -> None:
        """Mark the chat's messages up to ``max_id`` as read by the account."""
        ...


class TelethonCommands:
    """TelegramCommands over a connected TelegramClient."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def profile_photo(self, user_id: int) -> bytes | None:
        entity = await self._input_entity(user_id)
        try:
            photo = await self._client.download_profile_photo(entity, file=bytes)
        except errors.RPCError as exc:
            raise _command_error("download the profile photo of", user_id, exc) from exc
        return photo if isinstance(photo, bytes) else None

    async def mark_read(self, chat_id: int, max_id: int) -> None:
        entity = await self._input_entity(chat_id)
        try:
            await self._client.send_read_acknowledge(entity, max_id=max_id)
        except errors.RPCError as exc:
            raise _command_error("mark as read the chat", chat_id, exc) from exc

    async def _input_entity(self, peer_id: int) -> Any:
        try:
            return await self._client.get_input_entity(peer_id)
        except ValueError:
            raise CommandError(
                f"{peer_id} is unknown to this account's session: it has not seen that chat yet"
            ) from None


def _command_error(action: str, peer_id: int, exc: errors.RPCError) -> CommandError:
    if isinstance(exc, errors.FloodWaitError):
        return CommandRetryLater(int(exc.seconds))
    return CommandError(f"could not {action} {peer_id}: {type(exc).__name__}: {exc}")
