"""The thin Telethon edge: building a TelegramClient from settings, and the live connection.

Nothing here holds logic worth a unit test of its own: handlers only hand Telethon's objects to
the ingest, whose mapping is pure (``events``).
"""

from __future__ import annotations

from typing import Any

from telethon import TelegramClient, events
from telethon.tl import types

from chatsync.errors import ConfigError
from chatsync.producers.telethon.errors import NotAuthorized
from chatsync.producers.telethon.events import USER_UPDATES
from chatsync.producers.telethon.ingest import LiveIngest
from chatsync.producers.telethon.session import EncryptedSession
from chatsync.settings import Settings


def load_session(settings: Settings, *, read_only: bool = False) -> EncryptedSession:
    """The account's session from TG_SESSION_PATH (SessionKeyError when the key is wrong);
    ``read_only`` for every process but the live producer and the login."""
    key = settings.tg_session_key
    if key is None:
        raise ConfigError("TG_SESSION_KEY is not set: it encrypts the Telethon session at rest")
    return EncryptedSession(settings.tg_session_path, key.get_secret_value(), read_only=read_only)


def make_client(
    settings: Settings,
    session: EncryptedSession,
    *,
    updates: bool = False,
    flood_sleep_threshold: int = 60,
    auto_reconnect: bool = True,
) -> Any:
    """A TelegramClient on ``session``; not connected. With ``updates`` (the live producer) it
    receives updates in order and loads the session's update state (``catch_up``), so updates
    missed while offline are fetched; without, Telegram sends it none."""
    api_id = settings.tg_api_id
    if api_id is None or settings.tg_api_hash is None:
        raise ConfigError("TG_API_ID and TG_API_HASH are not set: get them at my.telegram.org")
    return TelegramClient(
        session,
        api_id,
        settings.tg_api_hash.get_secret_value(),
        receive_updates=updates,
        catch_up=updates,
        sequential_updates=True,
        flood_sleep_threshold=flood_sleep_threshold,
        auto_reconnect=auto_reconnect,
        device_model="chatsync",
        app_version="chatsync",
    )


class TelethonConnection:
    """LiveConnection over TelegramClient: a fresh client on the same session per connection,
    handlers that submit to the ingest, reconnects left to the runner (auto_reconnect off)."""

    def __init__(self, settings: Settings, session: EncryptedSession, ingest: LiveIngest) -> None:
        self._settings, self._session, self._ingest = settings, session, ingest
        self._client: Any = None

    async def connect(self) -> int:
        client = make_client(self._settings, self._session, updates=True, auto_reconnect=False)
        self._client = client
        self._register(client)
        await client.connect()
        if not await client.is_user_authorized():
            raise NotAuthorized()
        me = await client.get_me(input_peer=True)
        self._session.account_user_id = int(me.user_id)
        return int(me.user_id)

    async def catch_up(self) -> None:
        await self._client.catch_up()

    async def wait_disconnected(self) -> None:
        await self._client.run_until_disconnected()

    async def disconnect(self) -> None:
        if self._client is not None:
            await self._client.disconnect()
            self._client = None

    def _register(self, client: Any) -> None:
        add = client.add_event_handler
        add(self._on_message, events.NewMessage())  # incoming and outgoing
        add(
            self._on_service,
            events.Raw(types=[types.UpdateNewMessage, types.UpdateNewChannelMessage]),
        )
        add(self._on_edit, events.MessageEdited())
        add(self._on_delete, events.MessageDeleted())
        add(self._on_read, events.MessageRead(inbox=True))
        add(self._on_read, events.MessageRead(inbox=False))
        add(self._on_user, events.Raw(types=list(USER_UPDATES)))

    async def _on_message(self, event: Any) -> None:
        await self._ingest.submit("new_message", event.message)

    async def _on_service(self, update: Any) -> None:
        # events.NewMessage leaves service messages (calls, screenshots, ...) out.
        if isinstance(update.message, types.MessageService):
            await self._ingest.submit("new_message", update.message)

    async def _on_edit(self, event: Any) -> None:
        await self._ingest.submit("message_edited", event.message)

    async def _on_delete(self, event: Any) -> None:
        await self._ingest.submit("message_deleted", event.original_update)

    async def _on_read(self, event: Any) -> None:
        await self._ingest.submit("message_read", event.original_update)

    async def _on_user(self, update: Any) -> None:
        await self._ingest.submit("user_update", update)
