"""`chatsync tokens create | revoke | list`: bearer tokens of the API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsync.errors import ChatsyncError
from chatsync.infra.db import create_engine
from chatsync.infra.postgres.tokens import create_token, list_tokens, revoke_token
from chatsync.settings import Settings

T = TypeVar("T")


def _with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(settings, pool_size=1)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@click.group()
def tokens() -> None:
    """Create, revoke and list API tokens (stored hashed in PostgreSQL)."""


@tokens.command()
@click.option("--user-id", type=int, required=True, help="The owner's Telegram user id.")
@click.option("--admin", is_flag=True, help="An admin token sees every owner's deals.")
@click.option("--name", default="", help="What the token is for.")
@click.pass_context
def create(ctx: click.Context, user_id: int, admin: bool, name: str) -> None:
    """Make a token; it is printed once, as the last line, and never stored."""
    token_id, token = _with_engine(
        ctx.obj["settings"],
        lambda engine: create_token(engine, user_id=user_id, admin=admin, name=name),
    )
    kind = "admin token" if admin else f"token for user {user_id}"
    click.echo(f"created {kind} #{token_id}; keep it now, it is not shown again:")
    click.echo(token)


@tokens.command()
@click.argument("token_id", type=int)
@click.pass_context
def revoke(ctx: click.Context, token_id: int) -> None:
    """Revoke the token TOKEN_ID (see `chatsync tokens list`)."""
    if not _with_engine(ctx.obj["settings"], lambda engine: revoke_token(engine, token_id)):
        raise ChatsyncError(f"no live token #{token_id}")
    click.echo(f"revoked token #{token_id}")


@tokens.command("list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """Every token: id, owner, admin, name, created, revoked (never the token itself)."""
    for row in _with_engine(ctx.obj["settings"], list_tokens):
        state = f"revoked {row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else "live"
        admin = "admin" if row["is_admin"] else "owner"
        click.echo(
            f"#{row['id']:<4} user {row['user_id']:<12} {admin:<6} {state:<18} {row['name']}"
        )
