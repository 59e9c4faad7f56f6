"""The load bench/api puts on the API beyond bench.load's closed loop, and its DynamoDB baseline.

* ``page_through``: clients that page through their owner's deals the way the old DRF clients
  do, following each page's ``next`` link (its cursor) to the end of the list;
* ``query_loop``: DynamoDB Local's ceiling for the detail's read: the same Query (a deal's newest
  50 messages) straight from aioboto3, with the API's client settings, nothing else around it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

import aiohttp

from bench.load import figures
from chatsync.api.deals import DETAIL_MESSAGES
from chatsync.infra.aws import API_DYNAMODB_CONFIG, dynamodb_client
from chatsync.settings import Settings


async def page_through(first_page: str, tokens: list[str], pages: int) -> dict[str, float]:
    """One client per token, all at once, each reading ``first_page`` (not timed), then following
    ``next`` for up to ``pages`` more pages; rate and latency of those pages (read with a cursor).
    """
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=len(tokens))
    async with aiohttp.ClientSession(connector=connector) as http:

        async def next_link(url: str, token: str) -> str | None:
            nonlocal failures
            async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
                failures += response.status >= 400
                body: dict[str, Any] = await response.json()
            link: str | None = body.get("next")
            return link

        async def client(url: str | None, token: str) -> None:
            for _ in range(pages):
                if url is None:
                    return
                started = time.perf_counter()
                url = await next_link(url, token)
                latencies.append(time.perf_counter() - started)

        starts = await asyncio.gather(*(next_link(first_page, token) for token in tokens))
        failures, started = 0, time.perf_counter()  # count the timed pages only
        await asyncio.gather(
            *(client(url, token) for url, token in zip(starts, tokens, strict=True))
        )
        elapsed = time.perf_counter() - started
    return figures(latencies, elapsed, failures)


async def query_loop(
    settings: Settings, deal_ids: Iterable[str], concurrency: int
) -> dict[str, float]:
    """Each deal's newest messages once, ``concurrency`` queries at a time; rate and latency."""
    latencies: list[float] = []
    pending = iter(deal_ids)
    async with dynamodb_client(settings, API_DYNAMODB_CONFIG) as client:

        async def worker() -> None:
            for deal in pending:
                started = time.perf_counter()
                await client.query(
                    TableName=settings.dynamodb_messages_table,
                    KeyConditionExpression="deal_id = :deal",
                    ExpressionAttributeValues={":deal": {"S": deal}},
                    ScanIndexForward=False, Limit=DETAIL_MESSAGES,
                )  # fmt: skip
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return figures(latencies, elapsed, 0)
