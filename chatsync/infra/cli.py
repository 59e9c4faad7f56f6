"""`chatsync infra up | down | status | logs`: the local stack from the command line."""

from __future__ import annotations

import asyncio
import sys
import time

import click

from chatsync.infra.stack.provision import provision as provision_stores
from chatsync.infra.stack.stack import ComponentStatus, Stack
from chatsync.settings import Settings


def _stack(ctx: click.Context) -> Stack:
    settings: Settings = ctx.obj["settings"]
    return Stack(settings)


def _print_status(statuses: list[ComponentStatus]) -> None:
    for s in statuses:
        click.echo(f"{s.name:<9} {s.address:<21} {s.state:<9} {'' if s.healthy else s.detail}")


@click.group()
def infra() -> None:
    """Run the local single-node stack (Kafka, PostgreSQL, DynamoDB Local, S3) under ./var."""


@infra.command()
@click.pass_context
def up(ctx: click.Context) -> None:
    """Start every component, wait until healthy, create topics, tables and bucket."""
    _print_status(asyncio.run(_stack(ctx).up()))


@infra.command()
@click.pass_context
def provision(ctx: click.Context) -> None:
    """Only create topics, database, migrations, table and bucket on the configured services
    (for deployments whose Kafka, PostgreSQL, DynamoDB and S3 are not the local stack)."""
    asyncio.run(provision_stores(ctx.obj["settings"]))
    click.echo("provisioned")


@infra.command()
@click.pass_context
def down(ctx: click.Context) -> None:
    """Stop every component; no process is left behind. Data stays under the var directory."""
    stopped = asyncio.run(_stack(ctx).down())
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@infra.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Each component, its address and health; exit code 1 if any is not healthy."""
    statuses = asyncio.run(_stack(ctx).status())
    _print_status(statuses)
    if not all(s.healthy for s in statuses):
        sys.exit(1)


@infra.command()
@click.argument("component", required=False)
@click.option("-n", "--lines", default=50, show_default=True, help="Lines to show per component.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (one component).")
@click.pass_context
def logs(ctx: click.Context, component: str | None, lines: int, follow: bool) -> None:
    """Show the log of one component, or the tail of each."""
    stack = _stack(ctx)
    names = [component] if component else [c.name for c in stack.components]
    for name in names:
        c = stack.component(name)
        if len(names) > 1:
            click.echo(f"==> {c.log_file} <==")
        for line in c.last_log_lines(lines):
            click.echo(line)
    if follow and component:
        _follow(stack.log_file(component))


def _follow(path: object) -> None:
    with open(str(path), "rb") as handle:
        handle.seek(0, 2)
        while True:
            chunk = handle.readline()
            if chunk:
                click.echo(chunk.decode("utf-8", errors="replace"), nl=False)
            else:
                time.sleep(0.5)
