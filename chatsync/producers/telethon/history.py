"""Reading an account's history: the port the backfill engine uses, and its Telethon adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class DialogRef:
    """One dialog: its marked chat id and its TL peer (PeerUser, PeerChat or PeerChannel)."""

    chat_id: int
    peer: Any
    title: str = ""


class HistoryClient(Protocol):
    """Dialogs and their messages (TelethonHistory; an in-memory fake in unit tests).

    Both may raise telethon's FloodWaitError; the engine then waits and asks again from its
    checkpoint, so an iterator never has to resume after an error.
    """

    def dialogs(self) -> AsyncIterator[DialogRef]: ...

    def messages(
        self, dialog: DialogRef, *, offset_id: int, before: datetime
    ) -> AsyncIterator[Any]:
        """TL Message / MessageService objects of ``dialog``, newest first: those with an id
        below ``offset_id`` (0: no bound) and, when ``offset_id`` is 0, dated before ``before``."""
        ...


class TelethonHistory:
    """HistoryClient over a connected TelegramClient (``iter_dialogs`` / ``iter_messages``)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._input_peers: dict[int, Any] = {}

    async def dialogs(self) -> AsyncIterator[DialogRef]:
        async for dialog in self._client.iter_dialogs():
            self._input_peers[dialog.id] = dialog.input_entity
            yield DialogRef(dialog.id, dialog.dialog.peer, dialog.name or "")

    async def messages(
        self, dialog: DialogRef, *, offset_id: int, before: datetime
    ) -> AsyncIterator[Any]:
        entity = self._input_peers.get(dialog.chat_id, dialog.chat_id)
        offset_date = None if offset_id else before
        async for message in self._client.iter_messages(
            entity, offset_id=offset_id, offset_date=offset_date
        ):
            yield message
