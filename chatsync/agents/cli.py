"""`chatsync worker`: the Faust worker that normalises raw updates."""

from __future__ import annotations

import asyncio

import click
from faust.worker import Worker

from chatsync.agents.app import create_worker_app
from chatsync.agents.internal_topics import declare_internal_topics
from chatsync.settings import Settings


@click.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Normalise tg.raw.* into chat.deals, chat.customers and chat.messages (exactly once)."""
    settings: Settings = ctx.obj["settings"]
    app = create_worker_app(settings)
    asyncio.run(declare_internal_topics(app, settings))
    runner = Worker(app, loglevel=settings.log_level.lower(), quiet=True)
    # Faust's terminal spinner sets the root logger to DEBUG: every record would build log lines.
    runner.spinner = None
    runner.execute_from_commandline()
