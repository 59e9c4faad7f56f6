"""The outcome of a read mark, as a raw record the worker normalises into ``deal.updated``.

Telegram tells nobody that the owner read a chat through the bot, and need not echo a read
acknowledgement to the account that sent it. So after the read mark succeeded, the executor
writes a raw record of the deal's side, and the normal pipeline applies it in order with the
conversation's other records:

* mtproto deals: a record exactly like the live producer's for ``UpdateReadHistoryInbox``
  (``update_type`` ``message_read``, key ``acct:<owner>:chat:<chat>``);
* botapi deals: a ``chatsync_read_marked`` record (``normalise.botapi``), keyed by its Business
  connection like every record of that connection.

The record is a function of the command and the message id only (``received_at`` is the command's
``created_at``): running a command twice writes the same record, which the normaliser ignores the
second time (a read mark at or below the known one changes nothing).
"""

from __future__ import annotations

from typing import Any

from telethon import utils
from telethon.tl import types

from chatsync.agents.commands.models import MarkRead
from chatsync.envelopes import RawEnvelope
from chatsync.normalise.botapi import READ_MARKED


def read_outcome(command: MarkRead, max_id: int, bot_id: int | None) -> RawEnvelope:
    """The raw record saying the owner read ``command``'s chat up to ``max_id``."""
    if command.side == "mtproto":
        return RawEnvelope(
            source="mtproto", update_type="message_read", received_at=command.created_at,
            account_user_id=command.owner_user_id, chat_id=command.chat_id,
            payload={
                "_": "UpdateReadHistoryInbox", "max_id": max_id, "peer": _peer(command.chat_id),
                "_chatsync": {"event_id": f"message_read:{command.chat_id}:inbox:{max_id}"},
            },
        )  # fmt: skip
    return RawEnvelope(
        source="botapi", update_type=READ_MARKED, received_at=command.created_at, bot_id=bot_id,
        business_connection_id=command.business_connection_id, chat_id=command.chat_id,
        payload={
            "business_connection_id": command.business_connection_id,
            "chat": {"id": command.chat_id}, "message_id": max_id,
            "_chatsync": {"event_id": f"{READ_MARKED}:{command.chat_id}:{max_id}"},
        },
    )  # fmt: skip


def outcome_identity(envelope: RawEnvelope) -> str:
    """The record's identity (the publisher's dedupe key): owner or connection, and event id."""
    scope = envelope.account_user_id or envelope.business_connection_id
    return f"{scope}:{envelope.payload['_chatsync']['event_id']}"


def _peer(chat_id: int) -> dict[str, Any]:
    """The rendered peer of a marked chat id: PeerUser for private chats (the usual case)."""
    real_id, kind = utils.resolve_id(chat_id)
    if kind is types.PeerChannel:
        return {"_": "PeerChannel", "channel_id": real_id}
    if kind is types.PeerChat:
        return {"_": "PeerChat", "chat_id": real_id}
    return {"_": "PeerUser", "user_id": real_id}
