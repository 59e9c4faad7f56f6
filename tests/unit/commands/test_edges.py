"""One contract for both sides of the Telegram edge: the Business bot (aiogram, its session port
faked) and a Telethon account (its commands port over a fake client, Telethon's real errors)."""

from __future__ import annotations

from typing import Any, Protocol

import pytest
from telethon import errors

from chatsync.agents.commands.botapi_edge import BotApiEdge
from chatsync.agents.commands.errors import Refused, RetryLater, TelegramUnavailable
from chatsync.agents.commands.ports import TelegramEdge
from chatsync.agents.commands.telethon_edge import TelethonEdge
from chatsync.producers.telethon.commands import TelethonCommands
from tests.fakes.telegram import error
from tests.unit.commands.fakes import FakeTelethonClient, PhotoBotApi

USER = 9001
PHOTO = b"\xff\xd8\xff\xe0 profile photo bytes"


class EdgeWorld(Protocol):
    edge: TelegramEdge

    def set_photo(self, user_id: int, photo: bytes | None) -> None: ...
    def wait_next(self, seconds: int) -> None: ...
    def refuse_next(self) -> None: ...
    def break_next(self) -> None: ...
    def reads(self) -> list[tuple[int, int]]: ...


class BotWorld:
    def __init__(self) -> None:
        self.api = PhotoBotApi()
        self.edge: TelegramEdge = BotApiEdge(self.api.bot())

    def set_photo(self, user_id: int, photo: bytes | None) -> None:
        self.api.photos[user_id] = photo

    def wait_next(self, seconds: int) -> None:
        self._next(error(429, "Too Many Requests: retry later", retry_after=seconds))

    def refuse_next(self) -> None:
        self._next(error(400, "Bad Request: user not found"))

    def break_next(self) -> None:
        self._next(error(502, "Bad Gateway"))

    def reads(self) -> list[tuple[int, int]]:
        return [(params["chat_id"], params["message_id"]) for params in self.api.read_marks]

    def _next(self, answer: tuple[int, dict[str, Any]]) -> None:
        for method in ("getUserProfilePhotos", "readBusinessMessage"):
            self.api.fail_next(method, answer)


class TelethonWorld:
    def __init__(self) -> None:
        self.client = FakeTelethonClient()
        self.edge: TelegramEdge = TelethonEdge(TelethonCommands(self.client))

    def set_photo(self, user_id: int, photo: bytes | None) -> None:
        self.client.photos[user_id] = photo

    def wait_next(self, seconds: int) -> None:
        self.client.errors.append(errors.FloodWaitError(None, capture=seconds))

    def refuse_next(self) -> None:
        self.client.errors.append(errors.PeerIdInvalidError(None))

    def break_next(self) -> None:
        self.client.errors.append(errors.ServerError(None, "RPC_CALL_FAIL"))

    def reads(self) -> list[tuple[int, int]]:
        return self.client.read_marks


@pytest.fixture(params=["botapi", "telethon"])
def world(request: pytest.FixtureRequest) -> EdgeWorld:
    return BotWorld() if request.param == "botapi" else TelethonWorld()


async def test_the_profile_photo_comes_back_as_bytes(world: EdgeWorld) -> None:
    world.set_photo(USER, PHOTO)
    assert await world.edge.profile_photo(USER) == PHOTO


async def test_no_profile_photo_is_none(world: EdgeWorld) -> None:
    world.set_photo(USER, None)
    assert await world.edge.profile_photo(USER) is None


async def test_telegrams_wait_is_retry_later_with_its_seconds(world: EdgeWorld) -> None:
    world.wait_next(23)
    with pytest.raises(RetryLater) as raised:
        await world.edge.profile_photo(USER)
    assert raised.value.seconds == 23
    assert raised.value.retryable


async def test_a_refusal_is_final(world: EdgeWorld) -> None:
    world.refuse_next()
    with pytest.raises(Refused) as raised:
        await world.edge.mark_read(USER, 5, "bc-1")
    assert not raised.value.retryable
    assert world.reads() == []


async def test_a_server_error_is_worth_another_try(world: EdgeWorld) -> None:
    world.break_next()
    with pytest.raises(TelegramUnavailable):
        await world.edge.profile_photo(USER)


async def test_a_read_mark_reaches_telegram(world: EdgeWorld) -> None:
    await world.edge.mark_read(USER, 41, "bc-1")
    assert world.reads() == [(USER, 41)]


async def test_the_bot_downloads_the_largest_size_of_the_newest_photo() -> None:
    world = BotWorld()
    world.set_photo(USER, PHOTO)
    await world.edge.profile_photo(USER)
    assert world.api.methods() == ["getUserProfilePhotos", "getFile"]
    assert world.api.calls[0][1] == {"user_id": USER, "limit": 1}
    assert world.api.downloads[0].startswith("p/big-")


async def test_a_business_read_names_the_connection() -> None:
    world = BotWorld()
    await world.edge.mark_read(USER, 41, "bc-1")
    assert world.api.calls == [
        ("readBusinessMessage", {"business_connection_id": "bc-1", "chat_id": USER,
                                 "message_id": 41}),
    ]  # fmt: skip
    with pytest.raises(Refused, match="business_connection_id"):
        await world.edge.mark_read(USER, 41, None)
