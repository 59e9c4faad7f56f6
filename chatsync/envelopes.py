"""The raw envelope: how every producer writes a Telegram update to a raw topic (a public contract).

An envelope is one JSON object. Its metadata says where the update came from and which chat it
belongs to; ``payload`` is the update itself. For the Bot API the payload is the request body
exactly as Telegram sent it: its bytes are spliced into the envelope unchanged, so
``json.loads(envelope)["payload"]`` equals the original update and the original bytes appear
verbatim inside the record. Producers that build the payload themselves (Telethon, imports) render
it as JSON-safe values (bytes as base64, datetimes as ISO-8601 UTC).

Version 1 fields:

===========================  ====================================================================
``schema_version``           1; bumped on an incompatible change
``source``                   ``botapi``, ``mtproto``, ``backfill`` or ``export``
``update_type``              Bot API: the update's field (``business_message``, ...);
                             MTProto: the event (``new_message``, ``message_deleted``, ...)
``received_at``              when chatsync received it, ISO-8601 UTC
``update_id``                Bot API update id (redeliveries repeat it); null otherwise
``bot_id``                   the bot that received it (Bot API); null otherwise
``business_connection_id``   the Business connection behind it, when there is one
``account_user_id``          the Telegram user id of the Telethon account (MTProto sources)
``chat_id``                  the private chat the update belongs to, when known
``payload``                  the update
===========================  ====================================================================
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ENVELOPE_SCHEMA_VERSION: Literal[1] = 1
Source = Literal["botapi", "mtproto", "backfill", "export"]


def utc_now() -> datetime:
    return datetime.now(UTC)


class RawEnvelope(BaseModel):
    """One raw update with its routing metadata."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = ENVELOPE_SCHEMA_VERSION
    source: Source
    update_type: str
    received_at: datetime = Field(default_factory=utc_now)
    update_id: int | None = None
    bot_id: int | None = None
    business_connection_id: str | None = None
    account_user_id: int | None = None
    chat_id: int | None = None
    payload: dict[str, Any]

    def partition_key(self) -> bytes:
        """Kafka key: every update of one conversation lands in one partition, in order.

        Business updates are keyed by their connection alone: the ``business_connection`` update
        that names the owner and every message of every chat of that connection share one
        partition and one order, so the normaliser always sees the owner before, or with, the
        messages. Telethon updates are keyed by (account, chat); updates that belong to no chat
        by their account or update id.
        """
        if self.business_connection_id:
            return f"bc:{self.business_connection_id}".encode()
        scope = (
            f"acct:{self.account_user_id}"
            if self.account_user_id is not None
            else f"bot:{self.bot_id}"
        )
        if self.chat_id is not None:
            return f"{scope}:chat:{self.chat_id}".encode()
        if self.account_user_id is not None:
            return scope.encode()
        return f"{scope}:update:{self.update_id}".encode()

    def to_bytes(self, raw_payload: bytes | None = None) -> bytes:
        """The record value. ``raw_payload``, when given, is spliced in verbatim as ``payload``;
        it must be the JSON text that ``payload`` was parsed from."""
        meta = self.model_dump(mode="json", exclude={"payload"})
        head = json.dumps(meta, ensure_ascii=False, separators=(",", ":"))[:-1]
        body = raw_payload.strip() if raw_payload is not None else _dump(self.payload)
        return head.encode() + b',"payload":' + body + b"}"

    @classmethod
    def from_bytes(cls, value: bytes) -> RawEnvelope:
        return cls.model_validate_json(value)


def _dump(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
