"""The thin edge to Telegram's Bot API: an aiogram Bot whose session keeps the raw JSON.

aiogram parses every response into its models; the raw updates are what chatsync stores, so the
session is given a ``json_loads`` that keeps the last decoded response (a public constructor
parameter of aiogram's sessions, not an internal).
"""

from __future__ import annotations

import json
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession

from chatsync.producers.botapi.updates import BUSINESS_UPDATE_TYPES

ALLOWED_UPDATES = list(BUSINESS_UPDATE_TYPES)


class RawJson:
    """A ``json_loads`` that remembers what it decoded last."""

    def __init__(self) -> None:
        self.last: Any = None

    def __call__(self, text: str | bytes) -> Any:
        self.last = json.loads(text)
        return self.last


def make_bot(token: str, session: BaseSession | None = None) -> tuple[Bot, RawJson]:
    """A Bot for ``token`` and the RawJson its session decodes with."""
    raw = RawJson()
    if session is None:
        session = AiohttpSession(json_loads=raw)
    else:
        session.json_loads = raw
    return Bot(token, session=session), raw
