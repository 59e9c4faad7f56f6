"""`chatsync run`: everything one machine needs.

The worker and the sinks run as child processes (Faust wants its own event loop and signals);
the API (with
the webhook) runs here. Without TELEGRAM_BOT_TOKEN the bundled demo feed is posted through the
webhook once the API answers; with a token and no TELEGRAM_WEBHOOK_URL the polling producer
fetches updates. When no TELEGRAM_WEBHOOK_SECRET is set, one is generated for this run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sys

import uvicorn
from pydantic import SecretStr

from chatsync.api.app import create_app
from chatsync.producers.demo.cli import demo_feed, local_webhook_url
from chatsync.producers.demo.poster import post_updates
from chatsync.settings import Settings

log = logging.getLogger(__name__)


def with_webhook_secret(settings: Settings) -> Settings:
    if settings.telegram_webhook_secret is not None:
        return settings
    generated = SecretStr(secrets.token_urlsafe(32))
    return settings.model_copy(update={"telegram_webhook_secret": generated})


async def run_all(settings: Settings, *, demo_rate: float = 10.0) -> None:
    settings = with_webhook_secret(settings)
    server = uvicorn.Server(uvicorn.Config(
        create_app(settings), host=settings.api_host, port=settings.api_port, log_config=None,
        access_log=False,
    ))  # fmt: skip
    children = [
        await asyncio.create_subprocess_exec(sys.executable, "-m", "chatsync", command)
        for command in ("worker", "sinks")
    ]
    companions: list[asyncio.Task[None]] = []
    if settings.telegram_bot_token is None:
        log.info("no TELEGRAM_BOT_TOKEN: posting the demo feed through the webhook")
        companions.append(asyncio.create_task(_demo(server, settings, demo_rate)))
    elif settings.telegram_webhook_url is None:
        from chatsync.producers.botapi.cli import poll

        log.info("no TELEGRAM_WEBHOOK_URL: fetching updates by polling")
        companions.append(asyncio.create_task(poll(settings)))
    try:
        await server.serve()
    finally:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.terminate()
        for child in children:
            await child.wait()
        for task in companions:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _demo(server: uvicorn.Server, settings: Settings, rate: float) -> None:
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.1)
    secret = settings.telegram_webhook_secret
    assert secret is not None
    feed = demo_feed(continuous=False, owners=3, customers=4, messages=8, seed=7)
    summary = await post_updates(feed, url=local_webhook_url(settings),
                                 secret=secret.get_secret_value(), rate=rate)  # fmt: skip
    log.info("demo feed posted: %d updates, %d retries", summary.accepted, summary.retries)
