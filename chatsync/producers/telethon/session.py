"""A Telethon session kept in one encrypted file (TG_SESSION_PATH, key TG_SESSION_KEY).

Like Telethon's SQLiteSession it keeps the data-centre address, the authorisation key, the
entities Telegram told us about (so ``get_input_entity`` works after a restart) and the update
state (pts, qts, date, seq per entity), so ``catch_up`` resumes where the last run stopped. A bare
StringSession keeps none of the update state. The file is rewritten atomically on every ``save``
that changed something, and nothing of its content is ever logged.

``persist_updates`` lets the owner of the session hold the update state back: while it answers
False, ``save`` keeps writing the update state of the last time it answered True. The live
producer holds it back while updates are received but not yet acknowledged by Kafka, so a crash
then repeats those updates after the restart instead of losing them.

Only the live producer (and the login) may write the file. Other processes on the same account
(history sync, commands) open it ``read_only``: their clients must neither move the update state
on (they publish no updates) nor overwrite what the live producer wrote meanwhile.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telethon.crypto import AuthKey
from telethon.sessions import MemorySession
from telethon.tl.types.updates import State

from chatsync.producers.telethon.errors import SessionKeyError
from chatsync.producers.telethon.vault import Vault

FORMAT_VERSION = 1
EntityRow = tuple[int, int, str | None, str | None, str | None]  # id, hash, username, phone, name


class EncryptedSession(MemorySession):  # type: ignore[misc]  # telethon is untyped
    """MemorySession whose content lives in an encrypted file; load it with the right key."""

    def __init__(self, path: Path, secret: str, *, read_only: bool = False) -> None:
        super().__init__()
        self.path, self.read_only = path, read_only
        self.account_user_id: int | None = None
        self.pending_code: tuple[str, str] | None = None  # (phone, phone_code_hash) of a login
        self.persist_updates: Callable[[], bool] = lambda: True
        self._vault = Vault(path, secret)
        self._rows: dict[int, EntityRow] = {}
        self._saved_states: dict[int, State] = {}
        self._written: bytes | None = None
        content = self._vault.read()
        if content is not None:
            self._restore(content)
            self._written = content

    @property
    def authorized(self) -> bool:
        """True when the file holds an authorisation key (a login happened)."""
        return self.auth_key is not None

    def save(self) -> None:
        if self.read_only:
            return
        if self.persist_updates():
            self._saved_states = dict(self._update_states)
        content = json.dumps(self._snapshot(), separators=(",", ":")).encode()
        if content != self._written:
            self._vault.write(content)
            self._written = content

    def close(self) -> None:
        self.save()

    def clone(self, to_instance: Any = None) -> Any:
        # Telethon clones for CDN downloads: a blank in-memory session that never writes our file.
        return to_instance or MemorySession()

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)
        MemorySession.__init__(self)
        self.account_user_id, self.pending_code = None, None
        self._rows, self._saved_states, self._written = {}, {}, None

    def process_entities(self, tlo: Any) -> None:
        # One row per entity id: a renamed user replaces its row instead of adding one.
        for row in self._entities_to_rows(tlo):
            self._rows[row[0]] = row
        self._entities = set(self._rows.values())

    def _snapshot(self) -> dict[str, Any]:
        key = self.auth_key.key if self.auth_key else None
        return {
            "version": FORMAT_VERSION,
            "dc": [self.dc_id, self.server_address, self.port],
            "auth_key": base64.b64encode(key).decode() if key else None,
            "takeout_id": self.takeout_id,
            "account_user_id": self.account_user_id,
            "pending_code": list(self.pending_code) if self.pending_code else None,
            "update_states": [
                [entity, s.pts, s.qts, s.date.timestamp(), s.seq]
                for entity, s in sorted(self._saved_states.items())
            ],
            "entities": sorted(self._rows.values()),
        }

    def _restore(self, content: bytes) -> None:
        try:
            data = json.loads(content)
            if data.get("version") != FORMAT_VERSION:
                raise ValueError(f"unknown format version {data.get('version')!r}")
            self.set_dc(*data["dc"])
            if data["auth_key"]:
                self.auth_key = AuthKey(base64.b64decode(data["auth_key"]))
            self.takeout_id = data["takeout_id"]
            self.account_user_id = data["account_user_id"]
            pending = data.get("pending_code")
            self.pending_code = (pending[0], pending[1]) if pending else None
            for entity, pts, qts, date, seq in data["update_states"]:
                state = State(pts, qts, datetime.fromtimestamp(date, UTC), seq, unread_count=0)
                self._update_states[entity] = state
            self._rows = {row[0]: tuple(row) for row in data["entities"]}
        except (ValueError, KeyError, TypeError) as exc:
            raise SessionKeyError(f"{self.path} opened but is not a valid session: {exc}") from None
        self._entities = set(self._rows.values())
        self._saved_states = dict(self._update_states)
