"""Routes of the web pages and of the small JSON endpoints only they use.

The HTML pages and their static files are public and hold no data: the browser signs in with an
API token (kept in ``sessionStorage``) and reads everything through JSON endpoints with
``Authorization: Bearer``, in the API's error shape.

``GET /dashboard/``                            anyone     the monitoring dashboard (HTML)
``GET /dashboard/api/config/``                 admin      topic roles and the poll interval
``GET /dashboard/api/dead-letters/?limit=``    admin      the newest records of the DLQ topic
``GET /dashboard/api/latest-events/?limit=``   admin      the newest deal/message/customer events
``GET /chats/``                                anyone     the chats view (HTML)
``GET /chats/api/me/``                         any token  ``{user_id, is_admin}``
``GET /pages/static/...``                      anyone     CSS and JavaScript of both pages
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

from chatsync.api.auth import authenticate, require_admin
from chatsync.api.errors import ApiError
from chatsync.api.pages.formatting import dead_letter_out, event_out
from chatsync.api.pages.tail import MAX_VALUE_BYTES, TailRecord, TailUnavailable, read_tail
from chatsync.api.params import query
from chatsync.settings import Settings

HERE = Path(__file__).resolve().parent  # templates/ and static/ are package data beside it
STATIC_DIR = HERE / "static"
POLL_INTERVAL_MS = 2000
EVENT_MAX_BYTES = 256 * 1024  # a whole event (a 4096-character text is at most ~16 KiB of JSON)

# The pages load their own scripts and styles only; they talk to this origin (REST and the
# WebSocket: CSP 'self' covers ws:/wss: of the same host) and show avatars from S3 links.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: http: https:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


class TailQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(20, ge=1, le=100, description="how many of the newest records")


@functools.cache
def _template(name: str) -> str:
    return (HERE / "templates" / name).read_text(encoding="utf-8")


async def dashboard_page(_: Request) -> Response:
    return HTMLResponse(_template("dashboard.html"), headers=PAGE_HEADERS)


async def chats_page(_: Request) -> Response:
    return HTMLResponse(_template("chats.html"), headers=PAGE_HEADERS)


async def dashboard_config(request: Request) -> Response:
    require_admin(await authenticate(request))
    settings: Settings = request.app.state.settings
    return JSONResponse({
        "topics": {
            "raw": [settings.topic_raw_botapi, settings.topic_raw_mtproto],
            "normalised": _event_topics(settings),
            "dlq": settings.topic_dlq,
            "commands": settings.topic_commands,
        },
        "poll_interval_ms": POLL_INTERVAL_MS,
    })  # fmt: skip


async def dead_letters(request: Request) -> Response:
    require_admin(await authenticate(request))
    params = query(request, TailQuery)
    settings: Settings = request.app.state.settings
    records = await _tail(
        settings, [settings.topic_dlq], params.limit, max_value_bytes=MAX_VALUE_BYTES
    )
    return JSONResponse(
        {"topic": settings.topic_dlq, "results": [dead_letter_out(r) for r in records]}
    )


async def latest_events(request: Request) -> Response:
    require_admin(await authenticate(request))
    params = query(request, TailQuery)
    settings: Settings = request.app.state.settings
    topics = _event_topics(settings)
    records = await _tail(settings, topics, params.limit, max_value_bytes=EVENT_MAX_BYTES)
    return JSONResponse({"topics": topics, "results": [event_out(r) for r in records]})


async def me(request: Request) -> Response:
    principal = await authenticate(request)
    return JSONResponse({"user_id": principal.user_id, "is_admin": principal.is_admin})


def _event_topics(settings: Settings) -> list[str]:
    return [settings.topic_deals, settings.topic_messages, settings.topic_customers]


async def _tail(
    settings: Settings, topics: list[str], limit: int, *, max_value_bytes: int
) -> list[TailRecord]:
    try:
        return await read_tail(
            settings.kafka_bootstrap_servers, topics, limit, max_value_bytes=max_value_bytes
        )
    except TailUnavailable as exc:
        raise ApiError(
            503, "unavailable", f"Kafka did not answer: {exc}", headers={"Retry-After": "2"}
        ) from None


class _StaticFiles(StaticFiles):
    """The pages' CSS and JavaScript: revalidated on every load (ETag), never sniffed."""

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def routes() -> list[BaseRoute]:
    """Every route of the pages; the app adds them with ``*pages.routes()``."""
    return [
        Route("/dashboard/", dashboard_page, methods=["GET"]),
        Route("/dashboard/api/config/", dashboard_config, methods=["GET"]),
        Route("/dashboard/api/dead-letters/", dead_letters, methods=["GET"]),
        Route("/dashboard/api/latest-events/", latest_events, methods=["GET"]),
        Route("/chats/", chats_page, methods=["GET"]),
        Route("/chats/api/me/", me, methods=["GET"]),
        Mount("/pages/static", _StaticFiles(directory=STATIC_DIR), name="pages_static"),
    ]
