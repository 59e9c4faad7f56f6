"""The Starlette application: one composition root for every route (webhook, API, pages).

Adapters (the Kafka producer, the database engine, the DynamoDB and S3 clients) are created in the
lifespan, not at import time, and handed to the routes through ``app.state``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from chatsync import __version__
from chatsync.api import deals, health, pages, status, sync
from chatsync.api.admin import mount_admin
from chatsync.api.avatars import AvatarUrls
from chatsync.api.docs import docs
from chatsync.api.errors import ApiError, on_api_error, on_http_error, on_unexpected
from chatsync.api.metrics import Metrics, RequestMetrics, metrics_endpoint
from chatsync.api.openapi import Registry
from chatsync.api.realtime.hub import Hub
from chatsync.api.realtime.socket import chats_socket
from chatsync.api.webhook import telegram_webhook
from chatsync.infra.aws import API_DYNAMODB_CONFIG, dynamodb_client, s3_client
from chatsync.infra.db import create_engine
from chatsync.infra.postgres.reads import create_read_engine
from chatsync.producers.botapi.ingest import BotApiIngest
from chatsync.producers.botapi.updates import bot_id_from_token
from chatsync.producers.publisher import RawPublisher
from chatsync.runtime import freeze_startup_heap
from chatsync.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> Starlette:
    registry = Registry()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            publisher = RawPublisher(
                settings.kafka_bootstrap_servers,
                ack_timeout_s=settings.kafka_publish_timeout_ms / 1000,
                client_id="chatsync-api",
            )
            await publisher.start()
            stack.push_async_callback(publisher.stop)
            token = settings.telegram_bot_token
            app.state.publisher = publisher
            app.state.botapi_ingest = BotApiIngest(
                publisher, raw_topic=settings.topic_raw_botapi, dlq_topic=settings.topic_dlq,
                bot_id=bot_id_from_token(token.get_secret_value() if token else None),
                stage="webhook",
            )  # fmt: skip
            stack.push_async_callback(engine.dispose)
            app.state.engine = engine
            app.state.read_engine = create_read_engine(settings)  # auth and deal reads
            stack.push_async_callback(app.state.read_engine.dispose)
            app.state.dynamodb = await stack.enter_async_context(
                dynamodb_client(settings, API_DYNAMODB_CONFIG)
            )
            app.state.s3 = await stack.enter_async_context(s3_client(settings))
            app.state.avatar_urls = AvatarUrls(app.state.s3, settings.s3_bucket)
            hub = Hub(
                settings.kafka_bootstrap_servers, [settings.topic_deals, settings.topic_messages]
            )
            await hub.start()
            stack.push_async_callback(hub.stop)
            app.state.hub = hub
            if settings.telegram_webhook_secret is None:
                log.warning("TELEGRAM_WEBHOOK_SECRET is not set: /telegram/webhook/ answers 404")
            freeze_startup_heap()
            yield

    async def openapi(_: Request) -> Response:
        return JSONResponse(registry.document())

    routes: list[BaseRoute] = [
        Route("/telegram/webhook/", telegram_webhook, methods=["POST"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/docs/", docs, methods=["GET"]),
        WebSocketRoute("/ws/chats/{user_id:int}/", chats_socket),
        *health.routes(registry),
        *deals.routes(registry),
        *sync.routes(registry),
        *status.routes(registry),
        *pages.routes(),
    ]
    engine = create_engine(settings)  # builds a pool; connects on first use
    metrics = Metrics()
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestMetrics, metrics=metrics)],
        lifespan=lifespan,
        exception_handlers={
            ApiError: on_api_error,
            HTTPException: on_http_error,
            Exception: on_unexpected,
        },
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.registry = registry
    mount_admin(app, engine, settings)
    app.state.version = __version__
    app.state.sync_accounts = sync.TelethonAccounts(settings)
    return app
