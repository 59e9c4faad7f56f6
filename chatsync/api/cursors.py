"""Opaque cursors for keyset pagination, and the DRF-style links built from them."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from starlette.datastructures import URL

from chatsync.api.errors import ApiError


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a list and which way to read from it (``next``: further down the list)."""

    position: tuple[Any, ...]
    direction: Literal["next", "previous"]

    def encode(self) -> str:
        values = [v.isoformat() if isinstance(v, datetime) else v for v in self.position]
        raw = json.dumps({"p": values, "d": self.direction[0]}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str, kinds: tuple[type, ...]) -> Cursor:
    """Parse a cursor whose position holds values of ``kinds`` (datetime, str, int)."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        values = raw["p"]
        if len(values) != len(kinds) or raw["d"] not in ("n", "p"):
            raise ValueError("shape")
        position = tuple(
            datetime.fromisoformat(v) if kind is datetime else kind(v)
            for v, kind in zip(values, kinds, strict=True)
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ApiError(422, "invalid_cursor", "the cursor is not one this API gave out") from exc
    return Cursor(position, "next" if raw["d"] == "n" else "previous")


def page_link(url: URL, cursor: Cursor | None) -> str | None:
    """The request's URL with its ``cursor`` replaced (None when there is no such page)."""
    if cursor is None:
        return None
    return str(url.include_query_params(cursor=cursor.encode()))
