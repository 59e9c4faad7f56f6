"""`chatsync api`: the Starlette app under uvicorn."""

from __future__ import annotations

from typing import Any

import click
import uvicorn

from chatsync.api.app import create_app
from chatsync.settings import Settings


@click.command()
@click.option("--host", default=None, help="Address to bind (default: API_HOST).")
@click.option("--port", type=int, default=None, help="Port to bind (default: API_PORT).")
@click.option("--proxy-headers/--no-proxy-headers", default=False,
              help="Trust X-Forwarded-* from --forwarded-allow-ips.")  # fmt: skip
@click.option("--forwarded-allow-ips", default="127.0.0.1", show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Processes to serve with (default: API_WORKERS).",
)
@click.pass_context
def api(
    ctx: click.Context, host: str | None, port: int | None, proxy_headers: bool,
    forwarded_allow_ips: str, workers: int | None,
) -> None:  # fmt: skip
    """Serve the webhook, REST API, WebSocket and web pages."""
    settings: Settings = ctx.obj["settings"]
    processes = workers or settings.api_workers
    # Several workers need an import string: each process builds its own app from the settings.
    target: Any = "chatsync.api.asgi:create" if processes > 1 else create_app(settings)
    uvicorn.run(
        target,
        factory=processes > 1,
        workers=processes,
        host=host or settings.api_host,
        port=port or settings.api_port,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
        log_config=None,
        access_log=False,
        timeout_worker_healthcheck=60,  # a worker imports and connects for a few seconds
    )
