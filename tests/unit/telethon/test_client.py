"""The live handlers behind Telethon's own dispatch: every update kind reaches the raw topic."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from telethon.tl import types

from chatsync.producers.telethon.client import TelethonConnection, make_client
from chatsync.producers.telethon.events import Scope
from chatsync.producers.telethon.health import HealthFile, LiveHealth
from chatsync.producers.telethon.ingest import LiveIngest
from chatsync.producers.telethon.session import EncryptedSession
from chatsync.settings import Settings
from tests.fakes.telethon import ACCOUNT, T0, DictIndex, RecordingPublisher, tl_message


def _settings(tmp_path: Path) -> Settings:
    values = {
        "tg_api_id": 12345,
        "tg_api_hash": "0" * 32,
        "tg_session_key": "k" * 32,
        "tg_session_path": tmp_path / "a.session",
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


async def test_telethon_dispatches_each_update_kind_to_one_record(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    session = EncryptedSession(settings.tg_session_path, "k" * 32)
    publisher, index = RecordingPublisher(), DictIndex()
    ingest = LiveIngest(
        publisher,
        topic="raw",
        scope=Scope(ACCOUNT),
        index=index,
        health=LiveHealth(),
        health_file=HealthFile(None),
    )
    client: Any = make_client(settings, session, updates=True)
    TelethonConnection(settings, session, ingest)._register(client)
    client._mb_entity_cache.set_self_user(ACCOUNT, False, 99)  # what get_me() would cache
    call = types.MessageService(
        id=13, peer_id=types.PeerUser(42), date=T0, action=types.MessageActionPhoneCall(call_id=1)
    )
    updates = [
        types.UpdateNewMessage(tl_message(10, 42, text="hello"), pts=1, pts_count=1),
        types.UpdateShortMessage(
            id=11, user_id=42, message="short", pts=2, pts_count=1, date=T0, out=True
        ),
        types.UpdateNewMessage(call, pts=3, pts_count=1),
        types.UpdateEditMessage(tl_message(10, 42, text="hello!", edit_date=T0), 4, 1),
        types.UpdateDeleteMessages(messages=[11], pts=5, pts_count=1),
        types.UpdateReadHistoryInbox(types.PeerUser(42), 10, 0, 6, 1),
        types.UpdateReadHistoryOutbox(types.PeerUser(42), 11, 7, 1),
        types.UpdateUserName(user_id=42, first_name="Ada", last_name="", usernames=[]),
        types.UpdateUserStatus(user_id=42, status=types.UserStatusOnline(expires=0)),
    ]
    for update in updates:
        update._entities = {}  # as Telethon's _preprocess_updates leaves them
        await client._dispatch_update(update)

    worker = asyncio.create_task(ingest.run())
    assert await ingest.close(grace_s=60)
    await worker

    got = [(e.update_type, e.chat_id, e.payload["_"]) for e in publisher.envelopes()]
    assert got == [
        ("new_message", 42, "Message"),
        ("new_message", 42, "Message"),  # the short update, expanded by Telethon
        ("new_message", 42, "MessageService"),
        ("message_edited", 42, "Message"),
        ("message_deleted", 42, "UpdateDeleteMessages"),
        ("message_read", 42, "UpdateReadHistoryInbox"),
        ("message_read", 42, "UpdateReadHistoryOutbox"),
        ("user_update", 42, "UpdateUserName"),
    ]
    assert publisher.envelopes()[1].payload["out"] is True
