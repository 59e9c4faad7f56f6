"""Commands to the Telegram edge: avatars and read marks, with refusals turned into our errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from telethon import errors
from telethon.tl import types

from chatsync.producers.telethon.commands import TelegramCommands, TelethonCommands
from chatsync.producers.telethon.errors import CommandError, CommandRetryLater


@dataclass
class FakeClient:
    """The three TelegramClient methods TelethonCommands calls."""

    known: dict[int, Any] = field(default_factory=lambda: {42: types.InputPeerUser(42, 7)})
    photo: bytes | None = b"\xff\xd8jpeg"
    error: Exception | None = None
    calls: list[tuple[str, Any, Any]] = field(default_factory=list)

    async def get_input_entity(self, peer: int) -> Any:
        if peer not in self.known:
            raise ValueError("Could not find the input entity")
        return self.known[peer]

    async def download_profile_photo(self, entity: Any, file: Any) -> bytes | None:
        self.calls.append(("photo", entity, file))
        if self.error is not None:
            raise self.error
        return self.photo

    async def send_read_acknowledge(self, entity: Any, max_id: int) -> bool:
        self.calls.append(("read", entity, max_id))
        if self.error is not None:
            raise self.error
        return True


async def test_a_profile_photo_comes_back_as_bytes_or_none() -> None:
    client = FakeClient()
    commands: TelegramCommands = TelethonCommands(client)
    assert await commands.profile_photo(42) == b"\xff\xd8jpeg"
    assert client.calls == [("photo", types.InputPeerUser(42, 7), bytes)]
    client.photo = None
    assert await commands.profile_photo(42) is None


async def test_mark_read_acknowledges_up_to_the_message() -> None:
    client = FakeClient()
    await TelethonCommands(client).mark_read(42, 1234)
    assert client.calls == [("read", types.InputPeerUser(42, 7), 1234)]


async def test_an_unknown_user_is_a_command_error() -> None:
    with pytest.raises(CommandError, match="unknown to this account's session"):
        await TelethonCommands(FakeClient()).profile_photo(99)


async def test_a_flood_wait_says_when_to_retry_and_other_refusals_are_named() -> None:
    client = FakeClient(error=errors.FloodWaitError(None, capture=12))
    with pytest.raises(CommandRetryLater) as later:
        await TelethonCommands(client).mark_read(42, 1)
    assert later.value.retry_after_s == 12

    client.error = errors.UserIdInvalidError(None)
    with pytest.raises(CommandError, match="UserIdInvalidError"):
        await TelethonCommands(client).profile_photo(42)
