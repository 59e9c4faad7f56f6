"""``/healthz`` (the process is up) and ``/readyz`` (its dependencies answer), without auth."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatsync import __version__
from chatsync.api.openapi import Operation, Registry

PROBE_TIMEOUT_S = 2.0


class Health(BaseModel):
    status: str
    version: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


async def healthz(_: Request) -> Response:
    return JSONResponse(Health(status="ok", version=__version__).model_dump())


async def readyz(request: Request) -> Response:
    state = request.app.state
    checks = {
        "kafka": "ok" if state.publisher.ready else "not connected",
        "postgres": await _probe(_postgres(state)),
        "dynamodb": await _probe(state.dynamodb.describe_table(
            TableName=state.settings.dynamodb_messages_table)),
    }  # fmt: skip
    ready = all(value == "ok" for value in checks.values())
    body = Readiness(status="ready" if ready else "not ready", checks=checks)
    return JSONResponse(body.model_dump(), 200 if ready else 503)


async def _postgres(state: Any) -> None:
    async with state.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _probe(call: Any) -> str:
    try:
        await asyncio.wait_for(call, PROBE_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any failure is "not ready", reported by name
        return type(exc).__name__
    return "ok"


def routes(registry: Registry) -> list[Route]:
    return [
        registry.route(healthz, Operation("/healthz", "GET", "The process is up", "health",
                                          Health, auth=False)),
        registry.route(readyz, Operation("/readyz", "GET", "Kafka, PostgreSQL and DynamoDB answer",
                                         "health", Readiness, auth=False, errors=(503,))),
    ]  # fmt: skip
