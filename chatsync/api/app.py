"""The Starlette application: one composition root for every route (webhook, API, pages).

Adapters (Kafka producer, database engine, ...) are created in the lifespan, not at import time,
and handed to the routes through ``app.state``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chatsync import __version__
from chatsync.settings import Settings


async def healthz(_: Request) -> JSONResponse:
    """The process is up (no dependency is checked: see /readyz)."""
    return JSONResponse({"status": "ok", "version": __version__})


def create_app(settings: Settings) -> Starlette:
    app = Starlette(routes=[Route("/healthz", healthz, methods=["GET"])])
    app.state.settings = settings
    return app
