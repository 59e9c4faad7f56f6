"""A Kafka record as one line of JSON, the unit of the archive (pure).

One line per record, with a fixed key order and no insignificant whitespace, so the same record
always gives the same bytes:

``{"topic", "partition", "offset", "timestamp", "timestamp_type", "key", "key_encoding",
"headers": [{"key", "value", "value_encoding"}], "value", "value_encoding"}``

``timestamp`` is the record's timestamp in milliseconds since the epoch (``timestamp_type``:
``create`` or ``log_append``). Keys and header values are text when they are UTF-8
(``*_encoding: "utf-8"``), else base64 (``"base64"``). The value is its JSON text, unchanged,
when it is UTF-8 JSON (``value_encoding: "json"``; ``json_extract(value, '$.source')`` in DuckDB,
``get_json_object`` in Spark, ``json_extract_scalar`` in Athena), else base64 (``"base64"``).
Null keys and values stay null with a null encoding. Decoding gives back the exact bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Literal

from chatsync.replay.errors import ReplayError

Encoding = Literal["utf-8", "base64", "json"]
TimestampType = Literal["create", "log_append"]
Header = tuple[str, bytes]


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """One record as read from a topic or an archive object."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()
    timestamp_type: TimestampType = "create"


def encode_line(record: KafkaRecord) -> bytes:
    """The record as one JSON line, newline included."""
    key, key_encoding = _encode(record.key, json_allowed=False)
    value, value_encoding = _encode(record.value, json_allowed=True)
    line: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
        "timestamp_type": record.timestamp_type,
        "key": key,
        "key_encoding": key_encoding,
        "headers": [_header(name, data) for name, data in record.headers],
        "value": value,
        "value_encoding": value_encoding,
    }
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def decode_line(line: bytes | str) -> KafkaRecord:
    """The record a line of ``encode_line`` describes; ReplayError when it is not one."""
    try:
        item = json.loads(line)
        return KafkaRecord(
            topic=str(item["topic"]),
            partition=int(item["partition"]),
            offset=int(item["offset"]),
            timestamp=int(item["timestamp"]),
            timestamp_type=item.get("timestamp_type") or "create",
            key=_decode(item["key"], item["key_encoding"]),
            value=_decode(item["value"], item["value_encoding"]),
            headers=tuple(
                (str(h["key"]), _decode(h["value"], h["value_encoding"]) or b"")
                for h in item["headers"]
            ),
        )
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ReplayError(f"not an archived record: {exc!r}") from None


def _header(name: str, data: bytes | None) -> dict[str, str | None]:
    value, encoding = _encode(data, json_allowed=False)
    return {"key": name, "value": value, "value_encoding": encoding}


def _encode(data: bytes | None, *, json_allowed: bool) -> tuple[str | None, Encoding | None]:
    if data is None:
        return None, None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"
    if not json_allowed:
        return text, "utf-8"
    try:
        json.loads(text)
    except ValueError:
        return base64.b64encode(data).decode("ascii"), "base64"
    return text, "json"


def _decode(text: str | None, encoding: str | None) -> bytes | None:
    if text is None:
        return None
    if encoding == "base64":
        return base64.b64decode(text, validate=True)
    if encoding in ("utf-8", "json"):
        return text.encode("utf-8")
    raise ValueError(f"unknown encoding {encoding!r}")
