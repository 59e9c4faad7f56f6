"""JSON-safe rendering of Telethon's TL objects (pure).

``TLObject.to_dict()`` keeps the TL type of every object under ``"_"`` and holds values JSON does
not know: bytes become base64 text (standard alphabet, padded) and datetimes ISO-8601 UTC text
(``2026-11-21T09:30:00Z``). Everything else is already a JSON value.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

JsonValue = Any  # a value json.dumps accepts


def render(obj: Any) -> dict[str, JsonValue]:
    """The TL object (anything with ``to_dict``) as a JSON-safe dict, ``"_"`` included."""
    rendered = to_json_value(obj.to_dict())
    assert isinstance(rendered, dict)
    return rendered


def to_json_value(value: Any) -> JsonValue:
    """Recursively replace bytes, datetimes and nested TL objects by JSON values."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, Mapping):
        return {str(key): to_json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json_value(item) for item in value]
    if hasattr(value, "to_dict"):
        return to_json_value(value.to_dict())
    # Not produced by to_dict() today; kept readable rather than dropped.
    return str(value)


def iso_utc(value: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``; a naive datetime is taken as UTC (Telethon's are aware)."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")
