"""The encrypted session: round trip, unreadable without the key, a wrong key refused."""

from __future__ import annotations

import base64
import os
import secrets
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telethon import TelegramClient
from telethon.crypto import AuthKey
from telethon.sessions import MemorySession
from telethon.tl import types
from telethon.tl.types.updates import State

from chatsync.producers.telethon.errors import SessionKeyError
from chatsync.producers.telethon.session import EncryptedSession
from tests.fakes.telethon import ACCOUNT

KEY = "correct battery horse staple"
DC_ADDRESS = "149.154.167.51"
SEEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _filled(path: Path, auth_key: bytes) -> EncryptedSession:
    session = EncryptedSession(path, KEY)
    session.set_dc(2, DC_ADDRESS, 443)
    session.auth_key = AuthKey(auth_key)
    session.account_user_id = ACCOUNT
    session.set_update_state(0, State(pts=1200, qts=3, date=SEEN, seq=77, unread_count=0))
    session.set_update_state(1234567, State(pts=55, qts=0, date=SEEN, seq=0, unread_count=0))
    customer = types.User(
        id=42, access_hash=987654321, first_name="Ada", username="AdaL", phone="4915100000042"
    )
    session.process_entities(types.contacts.ResolvedPeer(types.PeerUser(42), [], [customer]))
    session.save()
    return session


def test_a_saved_session_loads_back_with_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "telethon" / "account.session"
    auth_key = secrets.token_bytes(256)
    _filled(path, auth_key)

    loaded = EncryptedSession(path, KEY)

    assert (loaded.dc_id, loaded.server_address, loaded.port) == (2, DC_ADDRESS, 443)
    assert loaded.auth_key.key == auth_key
    assert loaded.authorized
    assert loaded.account_user_id == ACCOUNT
    states = dict(loaded.get_update_states())
    assert (states[0].pts, states[0].qts, states[0].seq, states[0].date) == (1200, 3, 77, SEEN)
    assert states[1234567].pts == 55
    assert loaded.get_input_entity(42) == types.InputPeerUser(42, 987654321)
    assert loaded.get_input_entity("adal") == types.InputPeerUser(42, 987654321)


def test_the_file_is_private_and_holds_nothing_readable(tmp_path: Path) -> None:
    path = tmp_path / "account.session"
    auth_key = secrets.token_bytes(256)
    _filled(path, auth_key)

    data = path.read_bytes()

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for secret in (
        auth_key,
        auth_key[:32],
        base64.b64encode(auth_key)[:40],
        DC_ADDRESS.encode(),
        b"4915100000042",
        b"adal",
        b"987654321",
        str(ACCOUNT).encode(),
    ):
        assert secret not in data
    assert [p.name for p in tmp_path.iterdir()] == ["account.session"]  # no temporary left


def test_a_wrong_key_is_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "account.session"
    _filled(path, secrets.token_bytes(256))

    with pytest.raises(SessionKeyError) as refused:
        EncryptedSession(path, "not the key")

    message = str(refused.value)
    assert "TG_SESSION_KEY does not open" in message
    assert "\n" not in message
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__


def test_a_file_that_is_not_a_session_or_was_altered_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.session"
    other.write_bytes(b"SQLite format 3\x00" + bytes(100))
    with pytest.raises(SessionKeyError, match="not an encrypted chatsync session"):
        EncryptedSession(other, KEY)

    path = tmp_path / "account.session"
    _filled(path, secrets.token_bytes(256))
    data = bytearray(path.read_bytes())
    data[-20] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(SessionKeyError, match="wrong key, or the file is damaged"):
        EncryptedSession(path, KEY)


def test_an_empty_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SessionKeyError, match="TG_SESSION_KEY is empty"):
        EncryptedSession(tmp_path / "s", "")


def test_update_state_is_held_back_while_the_owner_says_so(tmp_path: Path) -> None:
    path = tmp_path / "account.session"
    session = _filled(path, secrets.token_bytes(256))
    settled = False
    session.persist_updates = lambda: settled

    session.set_update_state(0, State(pts=1300, qts=3, date=SEEN, seq=80, unread_count=0))
    session.save()
    assert dict(EncryptedSession(path, KEY).get_update_states())[0].pts == 1200

    settled = True
    session.close()
    assert dict(EncryptedSession(path, KEY).get_update_states())[0].pts == 1300


def test_a_renamed_user_replaces_its_entity_row(tmp_path: Path) -> None:
    session = _filled(tmp_path / "account.session", secrets.token_bytes(256))
    renamed = types.User(id=42, access_hash=987654321, first_name="Ada", username="ada_new")
    session.process_entities(types.contacts.ResolvedPeer(types.PeerUser(42), [], [renamed]))
    session.save()

    loaded = EncryptedSession(tmp_path / "account.session", KEY)
    assert loaded.get_input_entity("ada_new") == types.InputPeerUser(42, 987654321)
    with pytest.raises(ValueError, match="Could not find"):
        loaded.get_input_entity("adal")


def test_a_read_only_session_never_writes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "account.session"
    _filled(path, secrets.token_bytes(256))
    before = path.read_bytes()

    reader = EncryptedSession(path, KEY, read_only=True)
    reader.set_update_state(0, State(pts=9999, qts=3, date=SEEN, seq=80, unread_count=0))
    reader.account_user_id = 1
    reader.save()
    reader.close()

    assert path.read_bytes() == before


def test_a_clone_for_cdn_downloads_is_in_memory_only(tmp_path: Path) -> None:
    session = _filled(tmp_path / "account.session", secrets.token_bytes(256))
    clone = session.clone()
    assert type(clone) is MemorySession
    assert clone.auth_key is None


def test_delete_removes_the_file_and_forgets_the_login(tmp_path: Path) -> None:
    path = tmp_path / "account.session"
    session = _filled(path, secrets.token_bytes(256))
    session.delete()
    assert not path.exists()
    assert not session.authorized
    assert session.account_user_id is None


def test_a_pending_login_code_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "account.session"
    session = EncryptedSession(path, KEY)
    session.pending_code = ("+4915100000000", "hash-1")
    session.save()
    assert EncryptedSession(path, KEY).pending_code == ("+4915100000000", "hash-1")


def test_telethon_accepts_the_session_and_loads_its_state(tmp_path: Path) -> None:
    path = tmp_path / "account.session"
    _filled(path, secrets.token_bytes(256))

    client = TelegramClient(EncryptedSession(path, KEY), 12345, "0" * 32, catch_up=True)

    assert client.session.server_address == DC_ADDRESS
    assert dict(client.session.get_update_states())[0].pts == 1200


def test_writing_never_follows_a_stale_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "account.session"
    session = _filled(path, secrets.token_bytes(256))
    session.account_user_id = ACCOUNT + 1
    session.save()
    assert EncryptedSession(path, KEY).account_user_id == ACCOUNT + 1
    assert sorted(os.listdir(tmp_path)) == ["account.session"]
