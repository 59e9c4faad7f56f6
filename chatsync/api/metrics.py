"""``GET /metrics`` in Prometheus' text format: requests, webhook outcomes, topic offsets, lag.

Request counts and latencies are measured by a small ASGI middleware, labelled by the route's
path template (never the raw path, so ids do not explode the label space). Topic offsets and
consumer lag are read from the broker at scrape time, at most every few seconds.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCRAPE_CACHE_S = 5.0


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "chatsync_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "chatsync_http_request_duration_seconds",
            "HTTP latency",
            ["method", "route"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.webhook = Gauge(
            "chatsync_webhook_updates",
            "webhook updates by outcome (process)",
            ["outcome"],
            registry=r,
        )
        self.end_offset = Gauge(
            "chatsync_topic_records", "records written to a topic", ["topic"], registry=r
        )
        self.lag = Gauge(
            "chatsync_consumer_lag",
            "records a consumer group has yet to process",
            ["group", "topic"],
            registry=r,
        )
        self.broker_up = Gauge("chatsync_broker_reachable", "1 when Kafka answers", registry=r)
        self._scraped_at = 0.0

    async def refresh(self, state: Any) -> None:
        for outcome, count in state.botapi_ingest.counts.items():
            self.webhook.labels(str(outcome)).set(count)
        if time.monotonic() - self._scraped_at < SCRAPE_CACHE_S:
            return
        from chatsync.api.status import pipeline_status

        _, broker = await pipeline_status(state)
        self._scraped_at = time.monotonic()
        self.broker_up.set(1 if broker.reachable else 0)
        for topic, partitions in broker.end_offsets.items():
            self.end_offset.labels(topic).set(sum(partitions.values()))
        for group in broker.groups:
            per_topic: dict[str, int] = {}
            for key, lag in group.partitions.items():
                topic = key.rsplit(":", 1)[0]
                per_topic[topic] = per_topic.get(topic, 0) + lag
            for topic, lag in per_topic.items():
                self.lag.labels(group.group, topic).set(lag)


class RequestMetrics:
    """ASGI middleware: count and time every HTTP request by its route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(scope["method"], template, str(status)).inc()
            self.metrics.latency.labels(scope["method"], template).observe(
                time.perf_counter() - started
            )


async def metrics_endpoint(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    await metrics.refresh(request.app.state)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
