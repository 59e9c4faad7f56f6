"""The `chatsync` command. Each part of the system adds its subcommands here; nothing connects at
import time, and a missing or invalid setting ends the command with one line and exit code 2."""

from __future__ import annotations

from typing import Any

import click

from chatsync import __version__
from chatsync.api.cli import api
from chatsync.errors import ChatsyncError
from chatsync.infra.cli import infra
from chatsync.logs import configure_logging
from chatsync.producers.botapi.cli import polling, webhook
from chatsync.settings import load_settings


class _Commands(click.Group):
    """Turns a ChatsyncError into one line on stderr and its exit code, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ChatsyncError as exc:
            click.echo(f"chatsync: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Commands)
@click.version_option(__version__, prog_name="chatsync")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """chatsync: Telegram conversations kept in sync with deals, customers and messages."""
    settings = load_settings()
    configure_logging(settings)
    ctx.obj = {"settings": settings}


cli.add_command(infra)
cli.add_command(api)
cli.add_command(polling)
cli.add_command(webhook)


@cli.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run chatsync on this machine: for now the API (webhook included) in the foreground."""
    ctx.invoke(api)


def main() -> None:
    cli(prog_name="chatsync")
