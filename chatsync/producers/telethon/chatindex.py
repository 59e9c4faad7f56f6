"""Which private chat a message id belongs to, per account, kept in a small SQLite file.

Telegram's ``UpdateDeleteMessages`` names message ids only. Outside channels, message ids count
per account (never reused across chats), so one table ``message id -> chat id`` answers "where was
it deleted". The file sits next to the session (``msgchat-<account>.sqlite3``, mode 0600), so it
survives restarts; it is bounded: when it holds more than ``capacity`` ids, the oldest (lowest)
ids go first, and a delete of those is published with a null chat id.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

DEFAULT_CAPACITY = 1_000_000
_PRUNE_EVERY = 1_000


class ChatIndex(Protocol):
    """Message id -> chat id of one account (MessageChatIndex; a dict-backed fake in tests)."""

    def record(self, pairs: Iterable[tuple[int, int]]) -> None: ...

    def lookup(self, message_ids: Iterable[int]) -> dict[int, int]: ...


def index_path(session_path: Path, account_user_id: int) -> Path:
    return session_path.parent / f"msgchat-{account_user_id}.sqlite3"


class MessageChatIndex:
    """SQLite-backed ChatIndex; writes are small and synchronous (WAL, one commit per call)."""

    def __init__(self, path: Path, *, capacity: int = DEFAULT_CAPACITY) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self.path, self.capacity = path, capacity
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS message_chat"
            " (message_id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL)"
        )
        self._db.commit()
        self._since_prune = _PRUNE_EVERY  # prune once at the first write

    def record(self, pairs: Iterable[tuple[int, int]]) -> None:
        rows = list(pairs)
        if not rows:
            return
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO message_chat VALUES (?, ?)", rows)
        self._since_prune += len(rows)
        if self._since_prune >= _PRUNE_EVERY:
            self.prune()

    def lookup(self, message_ids: Iterable[int]) -> dict[int, int]:
        ids = list(message_ids)
        found: dict[int, int] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT message_id, chat_id FROM message_chat WHERE message_id IN ({marks})"
            found.update(self._db.execute(query, chunk).fetchall())
        return found

    def prune(self) -> None:
        """Keep the ``capacity`` highest message ids."""
        self._since_prune = 0
        with self._db:
            self._db.execute(
                "DELETE FROM message_chat WHERE message_id <"
                " (SELECT message_id FROM message_chat ORDER BY message_id DESC LIMIT 1 OFFSET ?)",
                (self.capacity - 1,),
            )

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM message_chat").fetchone()[0])

    def close(self) -> None:
        self._db.close()
