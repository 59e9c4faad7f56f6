"""A fake of aiogram's session port: the Bot API answered in-process, as raw JSON text.

Requests go through aiogram's real method models and response parsing (``check_response``), so
the code under test sees exactly what it would see from Telegram; only the HTTP call is replaced.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType

# (method name, parameters) -> (HTTP status, response object)
Handler = Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]


def ok(result: Any) -> tuple[int, dict[str, Any]]:
    return 200, {"ok": True, "result": result}


def error(status: int, description: str, **parameters: Any) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return status, body


class FakeBotApi(BaseSession):
    """Answers each request with ``handler``; records (method, params) in ``calls``."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        await asyncio.sleep(0.001)  # a network call suspends; a loop over this one must not spin
        name = method.__api_method__
        params = method.model_dump(exclude_none=True)
        self.calls.append((name, params))
        status, body = self.handler(name, params)
        response = self.check_response(
            bot=bot, method=method, status_code=status, content=json.dumps(body)
        )
        return response.result  # type: ignore[return-value]

    async def stream_content(
        self, url: str, headers: dict[str, Any] | None = None, timeout: int = 30,
        chunk_size: int = 65536, raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:  # fmt: skip
        raise NotImplementedError
        yield b""  # pragma: no cover

    async def close(self) -> None:
        return None


class FakeUpdateQueue:
    """Telegram's side of getUpdates: keeps updates until an offset above their id confirms them."""

    def __init__(self, updates: list[dict[str, Any]]) -> None:
        self.pending = list(updates)
        self.served: list[int] = []

    def __call__(self, name: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        assert name == "getUpdates", name
        offset = params.get("offset")
        if offset is not None:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        batch = self.pending[: params.get("limit") or 100][:3]  # small batches on purpose
        self.served.extend(u["update_id"] for u in batch)
        return ok(batch)
