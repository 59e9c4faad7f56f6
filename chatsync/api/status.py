"""``GET /api/v1/status/`` (admin): is the pipeline working, and how far behind is each part."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatsync.api.auth import authenticate, require_admin
from chatsync.api.openapi import Operation, Registry
from chatsync.infra.kafka_status import BrokerStatus, broker_status
from chatsync.infra.postgres.deal_queries import count_visible_deals
from chatsync.infra.postgres.models import Customer, Deal
from chatsync.settings import Settings
from chatsync.topics import declared_topics

GROUP_PREFIXES = ("chatsync",)


class StatusOut(BaseModel):
    broker: dict[str, Any]
    topics: dict[str, dict[str, Any]]
    consumer_groups: dict[str, dict[str, Any]]
    dlq: dict[str, int]
    producers: dict[str, Any]
    counts: dict[str, int | None]


async def pipeline_status(state: Any) -> tuple[StatusOut, BrokerStatus]:
    settings: Settings = state.settings
    topics = [spec.name for spec in declared_topics(settings)]
    broker = await broker_status(
        settings.kafka_bootstrap_servers, topics, (*GROUP_PREFIXES, settings.worker_app_id)
    )
    status = StatusOut(
        broker={
            "reachable": broker.reachable,
            "servers": settings.kafka_bootstrap_servers,
            "error": broker.error,
        },
        topics={
            name: {"end_offsets": broker.end_offsets.get(name, {}), "records": broker.records(name)}
            for name in topics
        },
        consumer_groups={
            lag.group: {"lag": lag.total, "partitions": lag.partitions} for lag in broker.groups
        },
        dlq={"records": broker.records(settings.topic_dlq)},
        producers=_producers(state),
        counts=await _counts(state),
    )
    return status, broker


async def status(request: Request) -> Response:
    require_admin(await authenticate(request))
    body, _ = await pipeline_status(request.app.state)
    return JSONResponse(body.model_dump(mode="json"))


def _producers(state: Any) -> dict[str, Any]:
    ingest = state.botapi_ingest
    var_dir: Path = state.settings.var_dir
    return {
        "webhook": {
            "kafka_connected": state.publisher.ready,
            "last_update_at": ingest.last_accepted_at.isoformat()
            if ingest.last_accepted_at
            else None,
            "accepted": int(ingest.counts["accepted"]),
            "dead_lettered": int(ingest.counts["dead_lettered"]),
        },
        "polling": [
            {
                "bot": path.stem,
                "last_update_id": path.read_text().strip(),
                "written_at": path.stat().st_mtime,
            }
            for path in sorted((var_dir / "polling").glob("*.offset"))
        ],
        "telethon": [_json(path) for path in sorted((var_dir / "telethon").glob("health-*.json"))],
    }


def _json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"file": path.name, "error": "unreadable"}
    return loaded if isinstance(loaded, dict) else {"file": path.name}


async def _counts(state: Any) -> dict[str, int | None]:
    async with state.engine.connect() as connection:
        deals = await connection.scalar(select(func.count()).select_from(Deal))
        customers = await connection.scalar(select(func.count()).select_from(Customer))
    table = await state.dynamodb.describe_table(TableName=state.settings.dynamodb_messages_table)
    return {
        "deals": deals,
        "deals_fully_synced": await count_visible_deals(state.engine),
        "customers": customers,
        "messages": table["Table"].get("ItemCount"),
    }


def routes(registry: Registry) -> list[Route]:
    return [
        registry.route(
            status,
            Operation(
                "/api/v1/status/",
                "GET",
                "Broker, topics, lag, DLQ, producers and counts (admin)",
                "status",
                StatusOut,
                errors=(403,),
            ),
        ),
    ]
