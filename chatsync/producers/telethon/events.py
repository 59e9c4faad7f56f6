"""Telethon updates and messages -> raw envelopes of the mtproto topic (pure).

Private chats only, unless ``Scope.include_groups`` (then basic groups and channels too). The
envelope's ``chat_id`` is Telethon's marked peer id: the user id for a private chat (as in the Bot
API), ``-chat_id`` for a basic group and ``-100…`` for a channel. ``payload`` is the rendered TL
object (``render.render``: the ``"_"`` type names stay) plus one key of ours, ``"_chatsync"``:

=================  ==================================================================
``event_id``       identity of the event within the account; a repeat (catch-up, a
                   restart, backfill after live) carries the same one: deduplicate on
                   (account_user_id, event_id)
``out``            (messages) True when the account sent it
``message_ids``    (deletes) the ids of ``messages`` that belong to this chat
``peer``           (messages of private chats, when Telethon has the user cached) the
                   other user's public profile: ``id``, ``first_name``, ``last_name``,
                   ``username``, ``lang_code``, ``premium`` (no phone, no access hash)
=================  ==================================================================

Telegram does not say in which private chat a deletion happened: ``deleted_envelopes`` takes the
message id -> chat id map the producer keeps and writes one record per chat, and one with a null
``chat_id`` for the ids nobody knows, so nothing is lost.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from telethon import utils
from telethon.tl import types

from chatsync.envelopes import RawEnvelope, Source
from chatsync.producers.telethon.render import render

UpdateType = Literal[
    "new_message", "message_edited", "message_deleted", "message_read", "user_update"
]
USER_UPDATES = (
    types.UpdateUserName,
    types.UpdateUser,
    types.UpdateUserPhone,
    types.UpdateUserEmojiStatus,
)
READ_UPDATES = (
    types.UpdateReadHistoryInbox,
    types.UpdateReadHistoryOutbox,
    types.UpdateReadChannelInbox,
    types.UpdateReadChannelOutbox,
)
DELETE_UPDATES = (types.UpdateDeleteMessages, types.UpdateDeleteChannelMessages)


@dataclass(frozen=True)
class Scope:
    """Whose updates these are and which chats count."""

    account_user_id: int
    include_groups: bool = False

    def chat_id(self, peer: Any) -> int | None:
        """The marked id of ``peer`` when it is in scope, else None."""
        if isinstance(peer, types.PeerUser):
            return int(peer.user_id)
        if self.include_groups and isinstance(peer, types.PeerChat | types.PeerChannel):
            return int(utils.get_peer_id(peer))
        return None


def message_envelope(
    message: Any,
    scope: Scope,
    *,
    update_type: UpdateType = "new_message",
    source: Source = "mtproto",
) -> RawEnvelope | None:
    """A Message or MessageService (new, edited or from history); None when out of scope."""
    if not isinstance(message, types.Message | types.MessageService):
        return None
    chat_id = scope.chat_id(message.peer_id)
    if chat_id is None:
        return None
    payload = render(message)
    if update_type == "message_edited":
        event_id = f"{update_type}:{chat_id}:{message.id}:{_digest(payload)}"
    else:
        event_id = f"new_message:{chat_id}:{message.id}"
    extra: dict[str, Any] = {"event_id": event_id, "out": bool(message.out)}
    peer = _peer_profile(message, chat_id)
    if peer is not None:
        extra["peer"] = peer
    return _envelope(scope, source, update_type, chat_id, payload, extra)


def _peer_profile(message: Any, chat_id: int) -> dict[str, Any] | None:
    """The public profile of the private chat's other user, when Telethon has it cached."""
    user = getattr(message, "_chat", None) or getattr(message, "_sender", None)
    if not isinstance(user, types.User) or user.id != chat_id:
        return None
    return {
        "id": user.id, "first_name": user.first_name, "last_name": user.last_name,
        "username": user.username, "lang_code": user.lang_code, "premium": user.premium,
    }  # fmt: skip


def deleted_envelopes(update: Any, scope: Scope, chats: Mapping[int, int]) -> list[RawEnvelope]:
    """One record per chat the deleted ids belong to (``chats``: message id -> chat id)."""
    payload = render(update)
    if isinstance(update, types.UpdateDeleteChannelMessages):
        chat_id = scope.chat_id(types.PeerChannel(update.channel_id))
        if chat_id is None:
            return []
        groups: dict[int | None, list[int]] = {chat_id: list(update.messages)}
    else:
        groups = {}
        for message_id in update.messages:
            groups.setdefault(chats.get(message_id), []).append(message_id)
    return [
        _envelope(
            scope,
            "mtproto",
            "message_deleted",
            chat_id,
            payload,
            {
                "event_id": f"message_deleted:{chat_id}:{update.pts}:{_ids(ids)}",
                "message_ids": ids,
            },
        )
        for chat_id, ids in groups.items()
    ]


def read_envelope(update: Any, scope: Scope) -> RawEnvelope | None:
    """A read mark: the other side read ours (outbox) or we read theirs (inbox)."""
    if isinstance(update, types.UpdateReadChannelInbox | types.UpdateReadChannelOutbox):
        peer: Any = types.PeerChannel(update.channel_id)
    else:
        peer = update.peer
    chat_id = scope.chat_id(peer)
    if chat_id is None:
        return None
    box = "outbox" if "Outbox" in type(update).__name__ else "inbox"
    return _envelope(
        scope,
        "mtproto",
        "message_read",
        chat_id,
        render(update),
        {"event_id": f"message_read:{chat_id}:{box}:{update.max_id}"},
    )


def user_envelope(update: Any, scope: Scope) -> RawEnvelope:
    """A change of a user's profile (name, usernames, phone, emoji status, or "refetch")."""
    payload = render(update)
    event_id = f"user_update:{update.user_id}:{_digest(payload)}"
    return _envelope(
        scope, "mtproto", "user_update", int(update.user_id), payload, {"event_id": event_id}
    )


def update_envelopes(
    update_type: UpdateType, obj: Any, scope: Scope, chats: Mapping[int, int]
) -> list[RawEnvelope]:
    """Dispatch one live item: a message (new or edited) or an update of the other kinds."""
    if update_type in ("new_message", "message_edited"):
        found = message_envelope(obj, scope, update_type=update_type)
    elif update_type == "message_deleted":
        return deleted_envelopes(obj, scope, chats) if isinstance(obj, DELETE_UPDATES) else []
    elif update_type == "message_read":
        found = read_envelope(obj, scope) if isinstance(obj, READ_UPDATES) else None
    else:
        found = user_envelope(obj, scope) if isinstance(obj, USER_UPDATES) else None
    return [found] if found is not None else []


def index_entry(envelope: RawEnvelope) -> tuple[int, int] | None:
    """(message id, chat id) to remember for later deletes: messages outside channels only,
    since channel message ids count per channel and channel deletes name their channel."""
    if envelope.update_type not in ("new_message", "message_edited") or envelope.chat_id is None:
        return None
    if utils.resolve_id(envelope.chat_id)[1] is types.PeerChannel:
        return None
    return int(envelope.payload["id"]), envelope.chat_id


def deleted_ids(obj: Any) -> list[int]:
    """The message ids a delete update names (empty for anything else)."""
    return list(obj.messages) if isinstance(obj, types.UpdateDeleteMessages) else []


def dedupe_key(envelope: RawEnvelope) -> str:
    return f"{envelope.account_user_id}:{envelope.payload['_chatsync']['event_id']}"


def _envelope(
    scope: Scope,
    source: Source,
    update_type: UpdateType,
    chat_id: int | None,
    payload: dict[str, Any],
    extra: dict[str, Any],
) -> RawEnvelope:
    return RawEnvelope(
        source=source,
        update_type=update_type,
        chat_id=chat_id,
        account_user_id=scope.account_user_id,
        payload={**payload, "_chatsync": extra},
    )


def _digest(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _ids(ids: Iterable[int]) -> str:
    joined = ",".join(str(i) for i in sorted(ids))
    return joined if len(joined) <= 64 else hashlib.sha256(joined.encode()).hexdigest()[:16]
