"""The `chatsync` command. Each part of the system adds its subcommands here; nothing connects at
import time, and a missing or invalid setting ends the command with one line and exit code 2."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from chatsync import __version__
from chatsync.agents.cli import worker
from chatsync.agents.commands.cli import commands
from chatsync.agents.sinks_cli import sinks
from chatsync.api.cli import api
from chatsync.api.tokens_cli import tokens
from chatsync.errors import ChatsyncError
from chatsync.infra.cli import infra
from chatsync.logs import configure_logging
from chatsync.producers.botapi.cli import polling, webhook
from chatsync.producers.demo.cli import demo
from chatsync.producers.telethon.backfill_cli import backfill
from chatsync.producers.telethon.cli import telethon
from chatsync.replay.archive_cli import archive
from chatsync.replay.export.cli import import_export
from chatsync.replay.replay_cli import replay_command
from chatsync.replay.reprocess_cli import reprocess
from chatsync.replay.topics_cli import topics
from chatsync.runner import run_all
from chatsync.settings import load_settings


class _Commands(click.Group):
    """Turns a ChatsyncError into one line on stderr and its exit code, not a traceback."""

    # Services (api, run, polling) stop on SIGINT; uvicorn re-raises it once shut down.

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ChatsyncError as exc:
            click.echo(f"chatsync: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:  # Ctrl-C (or SIGINT) is how services are stopped: a clean exit
            click.echo("chatsync: stopped", err=True)
            ctx.exit(0)


@click.group(cls=_Commands)
@click.version_option(__version__, prog_name="chatsync")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """chatsync: Telegram conversations kept in sync with deals, customers and messages."""
    settings = load_settings()
    configure_logging(settings)
    ctx.ensure_object(dict)["settings"] = settings


cli.add_command(infra)
cli.add_command(api)
cli.add_command(tokens)
cli.add_command(polling)
cli.add_command(webhook)
cli.add_command(demo)
cli.add_command(worker)
cli.add_command(commands)
cli.add_command(sinks)
cli.add_command(telethon)
cli.add_command(backfill)
cli.add_command(archive)
cli.add_command(replay_command)
cli.add_command(reprocess)
cli.add_command(import_export)
cli.add_command(topics)


@cli.command()
@click.option("--demo-rate", default=10.0, show_default=True, help="Demo updates per second.")
@click.pass_context
def run(ctx: click.Context, demo_rate: float) -> None:
    """Run chatsync on this machine: the worker, the sinks, the API and webhook, plus the demo
    feed when no TELEGRAM_BOT_TOKEN is set (or polling with a token but no TELEGRAM_WEBHOOK_URL)."""
    asyncio.run(run_all(ctx.obj["settings"], demo_rate=demo_rate))


def main() -> None:
    cli(prog_name="chatsync")
