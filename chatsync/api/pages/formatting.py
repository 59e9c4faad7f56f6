"""Kafka records as the dashboard shows them: dead letters and normalised events (pure functions).

Dead letters keep their original bytes; the page gets a short, decoded preview of them and the
``dlq.*`` headers that say where and why they failed. Events get a one-line summary.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from chatsync.api.pages.tail import TailRecord

PREVIEW_CHARS = 300
SUMMARY_CHARS = 80
BINARY_PREVIEW_BYTES = 48


def preview(head: bytes | None, size: int, chars: int = PREVIEW_CHARS) -> tuple[str | None, bool]:
    """(a text preview of a value, whether it was cut). Bytes that are not UTF-8 show as hex."""
    if head is None:
        return None, False
    cut_bytes = size > len(head)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A value cut inside a multi-byte character is still text: drop the partial character.
        if cut_bytes and exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            text = head[: exc.start].decode("utf-8", errors="replace")
        else:
            shown = head[:BINARY_PREVIEW_BYTES]
            return f"<{size} bytes, not UTF-8> {shown.hex(' ')}", size > len(shown)
    if len(text) > chars:
        return text[:chars] + "…", True
    return text + ("…" if cut_bytes else ""), cut_bytes


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", errors="replace")


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def timestamp(ms: int) -> str | None:
    """A Kafka timestamp (milliseconds) as ISO-8601 UTC."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat() if ms > 0 else None


def dead_letter_out(record: TailRecord) -> dict[str, Any]:
    """A ``chat.dlq`` record: where it came from, why it failed, a preview of its bytes."""
    headers = {name: raw.decode("utf-8", errors="replace") for name, raw in record.headers}
    value, cut = preview(record.value, record.value_size)
    source_topic = headers.get("dlq.source.topic")
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": timestamp(record.timestamp_ms),
        "key": _text(record.key),
        "stage": headers.get("dlq.stage"),
        "error": headers.get("dlq.error"),
        "dead_lettered_at": headers.get("dlq.at"),
        "source": None if source_topic is None else {
            "topic": source_topic,
            "partition": _int(headers.get("dlq.source.partition")),
            "offset": _int(headers.get("dlq.source.offset")),
        },
        "headers": headers,
        "value_preview": value,
        "value_truncated": cut,
        "value_bytes": record.value_size,
    }  # fmt: skip


def event_out(record: TailRecord) -> dict[str, Any]:
    """A normalised event (``chat.deals``, ``chat.messages``, ``chat.customers``) in one line."""
    base: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": timestamp(record.timestamp_ms),
        "event_type": None,
        "event_id": None,
        "deal_id": None,
        "owner_user_id": None,
        "occurred_at": None,
        "summary": "",
    }
    if record.value is None:
        base["summary"] = "tombstone"
        return base
    event = _json(record.value) if len(record.value) == record.value_size else None
    if not isinstance(event, dict):
        base["summary"] = f"not a readable event ({record.value_size} bytes)"
        return base
    kind = event.get("event_type")
    data = event.get("data")
    data = data if isinstance(data, dict) else {}
    base.update(
        event_type=kind if isinstance(kind, str) else None,
        event_id=event.get("event_id"),
        deal_id=event.get("deal_id"),
        owner_user_id=event.get("owner_user_id"),
        occurred_at=event.get("occurred_at"),
        summary=_summary(str(kind), data),
    )
    return base


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _summary(kind: str, data: dict[str, Any]) -> str:
    if kind.startswith("message."):
        what = _clip(data.get("text")) or _media_label(data.get("media"))
        arrow = "→" if data.get("direction") == "out" else "←"
        return f"{arrow} #{data.get('message_id')} {what}".rstrip()
    if kind.startswith("deal."):
        return (
            f"customer {data.get('customer_id')}, {data.get('message_count')} messages, "
            f"{data.get('unread_count')} unread"
        )
    if kind.startswith("customer."):
        name = " ".join(str(data[k]) for k in ("first_name", "last_name") if data.get(k))
        username = f" @{data['username']}" if data.get("username") else ""
        return _clip(f"{name}{username}".strip()) or str(data.get("customer_id", ""))
    return ""


def _media_label(media: Any) -> str:
    return f"[{media.get('type', 'media')}]" if isinstance(media, dict) else ""


def _clip(text: Any, chars: int = SUMMARY_CHARS) -> str:
    if not isinstance(text, str):
        return ""
    line = " ".join(text.split())
    return line if len(line) <= chars else line[: chars - 1] + "…"
