"""`chatsync api`: the Starlette app under uvicorn."""

from __future__ import annotations

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
@click.pass_context
def api(
    ctx: click.Context, host: str | None, port: int | None, proxy_headers: bool,
    forwarded_allow_ips: str,
) -> None:  # fmt: skip
    """Serve the webhook, REST API, WebSocket and web pages."""
    settings: Settings = ctx.obj["settings"]
    uvicorn.run(
        create_app(settings), host=host or settings.api_host, port=port or settings.api_port,
        proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips,
        log_config=None, access_log=False,
    )  # fmt: skip
