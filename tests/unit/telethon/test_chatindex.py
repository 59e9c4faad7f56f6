"""The message id -> chat id map behind deletes: persistent and bounded."""

from __future__ import annotations

import stat
from pathlib import Path

from chatsync.producers.telethon.chatindex import MessageChatIndex, index_path
from tests.fakes.telethon import ACCOUNT


def test_ids_are_found_after_a_restart(tmp_path: Path) -> None:
    path = index_path(tmp_path / "account.session", ACCOUNT)
    index = MessageChatIndex(path)
    index.record([(10, 42), (11, 43)])
    index.record([(10, 42)])  # a repeat changes nothing
    index.close()

    reopened = MessageChatIndex(path)
    assert reopened.lookup([10, 11, 99]) == {10: 42, 11: 43}
    assert len(reopened) == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.name == f"msgchat-{ACCOUNT}.sqlite3"


def test_it_keeps_the_newest_ids_when_full(tmp_path: Path) -> None:
    index = MessageChatIndex(tmp_path / "m.sqlite3", capacity=100)
    index.record((i, 1000 + i) for i in range(1, 1501))
    index.prune()

    assert len(index) == 100
    assert index.lookup([1400, 1401, 1500]) == {1401: 2401, 1500: 2500}


def test_large_lookups_are_answered_whole(tmp_path: Path) -> None:
    index = MessageChatIndex(tmp_path / "m.sqlite3")
    index.record((i, 7) for i in range(2000))
    assert len(index.lookup(range(-5, 2005))) == 2000
    index.record([])
    assert len(index) == 2000
