"""``POST /telegram/webhook/``: Telegram's updates in, durably in Kafka before the 200.

Statuses: 401 missing or wrong secret token (compared in constant time, nothing echoed), 413 body
too large, 400 not JSON or no integer ``update_id``, 503 Kafka did not acknowledge in time
(Telegram retries), 404 when no TELEGRAM_WEBHOOK_SECRET is configured (the route is disabled).
"""

from __future__ import annotations

import hmac
import json
import logging

from starlette.requests import Request
from starlette.responses import Response

from chatsync.api.errors import error_response
from chatsync.producers.botapi.ingest import BotApiIngest
from chatsync.producers.botapi.updates import InvalidUpdate
from chatsync.producers.errors import PublishUnavailable
from chatsync.settings import Settings

log = logging.getLogger(__name__)
SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name


class _TooLarge(Exception):
    pass


async def telegram_webhook(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    secret = settings.telegram_webhook_secret
    if secret is None:
        return error_response(404, "webhook_disabled", "TELEGRAM_WEBHOOK_SECRET is not configured")
    given = request.headers.get(SECRET_HEADER, "").encode()
    if not hmac.compare_digest(given, secret.get_secret_value().encode()):
        return error_response(401, "unauthorized", "missing or wrong secret token")
    try:
        body = await _read_body(request, settings.webhook_max_body_bytes)
    except _TooLarge:
        return error_response(
            413, "body_too_large", f"an update is at most {settings.webhook_max_body_bytes} bytes"
        )
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return error_response(400, "invalid_json", "the body is not JSON")
    ingest: BotApiIngest = request.app.state.botapi_ingest
    try:
        await ingest.ingest(payload, body)
    except InvalidUpdate as exc:
        return error_response(400, "invalid_update", str(exc))
    except PublishUnavailable as exc:
        log.warning("webhook update not acknowledged, answering 503: %s", exc)
        return error_response(503, "unavailable", "try again later", headers={"Retry-After": "1"})
    return Response(status_code=200)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)
