"""Post updates to a webhook the way Telegram does: with the secret header, at a steady rate,
retrying an update until it is acknowledged with a 200 (a 503 or a refused connection is retried;
any other status is counted as rejected and not retried, as Telegram would eventually drop it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_ATTEMPTS = 120


@dataclass
class PostSummary:
    accepted: int = 0
    rejected: dict[int, int] = field(default_factory=dict)
    retries: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0


async def post_updates(
    updates: Iterable[dict[str, Any]], *, url: str, secret: str, rate: float,
    client: httpx.AsyncClient | None = None,
) -> PostSummary:  # fmt: skip
    """Post every update in order, ``rate`` per second at most (0: as fast as acknowledged)."""
    summary, started = PostSummary(), time.monotonic()
    interval = 1.0 / rate if rate > 0 else 0.0
    async with contextlib.AsyncExitStack() as stack:
        http = client
        if http is None:
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        for index, update in enumerate(updates):
            if interval:
                await asyncio.sleep(max(0.0, started + index * interval - time.monotonic()))
            status = await _post_until_acknowledged(http, url, secret, update, summary)
            if status == 200:
                summary.accepted += 1
            else:
                summary.rejected[status] = summary.rejected.get(status, 0) + 1
                log.warning("update %s rejected with %s", update.get("update_id"), status)
    summary.seconds = time.monotonic() - started
    return summary


async def _post_until_acknowledged(
    http: httpx.AsyncClient, url: str, secret: str, update: dict[str, Any], summary: PostSummary
) -> int:
    body = json.dumps(update, ensure_ascii=False).encode()
    headers = {SECRET_HEADER: secret, "Content-Type": "application/json"}
    delay = 0.2
    for _ in range(MAX_ATTEMPTS):
        try:
            response = await http.post(url, content=body, headers=headers)
            if response.status_code not in (502, 503, 504):
                return response.status_code
        except httpx.TransportError as exc:
            log.info("webhook not reachable (%s); retrying", type(exc).__name__)
        summary.retries += 1
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)
    raise TimeoutError(f"update {update.get('update_id')} was never acknowledged by {url}")
