"""The stream cursor: the next Kafka offset per (topic, partition), as an opaque string."""

from __future__ import annotations

import base64
import json

from chatsync.api.realtime.hub import Position


def encode_stream_cursor(position: dict[Position, int]) -> str:
    raw = {
        f"{topic}|{partition}": offset for (topic, partition), offset in sorted(position.items())
    }
    text = json.dumps(raw, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_stream_cursor(text: str) -> dict[Position, int]:
    """Raises ValueError for anything this server did not make."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        position = {}
        for key, offset in raw.items():
            topic, partition = key.rsplit("|", 1)
            if not isinstance(offset, int) or offset < 0:
                raise ValueError("offset")
            position[(topic, int(partition))] = offset
    except (ValueError, AttributeError, TypeError, UnicodeDecodeError) as exc:
        raise ValueError("not a stream cursor") from exc
    return position
