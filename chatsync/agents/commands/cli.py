"""`chatsync commands`: the executor of chat.commands (avatars to S3, read marks to Telegram)."""

from __future__ import annotations

import asyncio

import click

from chatsync.agents.commands.service import run_commands
from chatsync.settings import Settings


@click.command()
@click.option(
    "--avatar-requests/--no-avatar-requests",
    default=True,
    show_default=True,
    help="Also turn customer events (chat.customers) into fetch_avatar commands.",
)
@click.pass_context
def commands(ctx: click.Context, avatar_requests: bool) -> None:
    """Carry out chat.commands: fetch avatars into S3, send read marks to Telegram."""
    settings: Settings = ctx.obj["settings"]
    asyncio.run(run_commands(settings, avatar_requests=avatar_requests))
