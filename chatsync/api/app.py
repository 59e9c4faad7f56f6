"""The Starlette application: one composition root for every route (webhook, API, pages).

Adapters (the Kafka producer, later the database engine, ...) are created in the lifespan, not at
import time, and handed to the routes through ``app.state``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chatsync import __version__
from chatsync.api.webhook import telegram_webhook
from chatsync.producers.botapi.ingest import BotApiIngest
from chatsync.producers.botapi.updates import bot_id_from_token
from chatsync.producers.publisher import RawPublisher
from chatsync.runtime import freeze_startup_heap
from chatsync.settings import Settings

log = logging.getLogger(__name__)


async def healthz(_: Request) -> JSONResponse:
    """The process is up (no dependency is checked: see /readyz)."""
    return JSONResponse({"status": "ok", "version": __version__})


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        publisher = RawPublisher(
            settings.kafka_bootstrap_servers,
            ack_timeout_s=settings.kafka_publish_timeout_ms / 1000,
            client_id="chatsync-webhook",
        )
        await publisher.start()
        token = settings.telegram_bot_token
        app.state.botapi_ingest = BotApiIngest(
            publisher,
            raw_topic=settings.topic_raw_botapi,
            dlq_topic=settings.topic_dlq,
            bot_id=bot_id_from_token(token.get_secret_value() if token else None),
            stage="webhook",
        )
        if settings.telegram_webhook_secret is None:
            log.warning("TELEGRAM_WEBHOOK_SECRET is not set: /telegram/webhook/ answers 404")
        freeze_startup_heap()
        try:
            yield
        finally:
            await publisher.stop()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/telegram/webhook/", telegram_webhook, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app
