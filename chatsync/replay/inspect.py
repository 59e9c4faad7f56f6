"""What ``chatsync topics`` shows: filters by deal or chat, and records for people (pure).

A record belongs to a deal or a chat when its value says so: a raw envelope by its ``chat_id``
and, for Telethon sources, the deal of (``account_user_id``, ``chat_id``); a normalised event
(or an internal record of the worker) by its ``deal_id``, and by a chat when the event's deal is
the deal of (``owner_user_id``, that chat). A raw Bot API envelope does not name its owner (its
Business connection does), so only ``--chat`` finds it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from chatsync.identity import deal_id
from chatsync.replay.plan import format_time
from chatsync.replay.records import KafkaRecord


@dataclass(frozen=True, slots=True)
class RecordFilter:
    deal: str | None = None
    chat: int | None = None

    @property
    def active(self) -> bool:
        return self.deal is not None or self.chat is not None

    def matches(self, value: bytes | None) -> bool:
        if not self.active:
            return True
        document = _json(value)
        if not isinstance(document, dict):
            return False
        deals, chats = _identities(document, self.chat)
        return (self.deal is None or self.deal in deals) and (
            self.chat is None or self.chat in chats
        )


def _identities(document: dict[str, Any], chat: int | None) -> tuple[set[str], set[int]]:
    deals: set[str] = set()
    chats: set[int] = set()
    chat_id, account = document.get("chat_id"), document.get("account_user_id")
    if isinstance(chat_id, int):
        chats.add(chat_id)
        if isinstance(account, int):
            deals.add(deal_id(account, chat_id))
    found = document.get("deal_id")
    if isinstance(found, str):
        deals.add(found)
        data = document.get("data")
        if isinstance(data, dict) and isinstance(data.get("chat_id"), int):
            chats.add(data["chat_id"])
        owner = document.get("owner_user_id")
        if chat is not None and isinstance(owner, int) and deal_id(owner, chat) == found:
            chats.add(chat)
    return deals, chats


def record_lines(record: KafkaRecord, *, compact: bool = False) -> list[str]:
    """A record as a header line and its value (pretty JSON, text, or base64)."""
    if compact:
        value = _json(record.value)
        shown = json.dumps(value, ensure_ascii=False) if value is not None else _text(record.value)
        return [f"{record.topic}[{record.partition}]@{record.offset} {shown}"]
    key = _text(record.key) if record.key is not None else "-"
    head = (
        f"{record.topic}[{record.partition}]@{record.offset}  "
        f"{format_time(record.timestamp)}.{record.timestamp % 1000:03d}  key={key}"
    )
    lines = [head]
    if record.headers:
        lines.append("  headers: " + ", ".join(f"{k}={_text(v)}" for k, v in record.headers))
    document = _json(record.value)
    if document is not None:
        lines += json.dumps(document, ensure_ascii=False, indent=2).splitlines()
    else:
        lines.append(_text(record.value))
    return lines


def latest(records: list[KafkaRecord], count: int) -> list[KafkaRecord]:
    """The ``count`` newest records of several partitions, oldest first (by record time)."""
    ordered = sorted(records, key=lambda r: (r.timestamp, r.partition, r.offset))
    return ordered[-count:] if count > 0 else []


def _json(value: bytes | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _text(data: bytes | None) -> str:
    if data is None:
        return "null"
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(data).decode("ascii")
