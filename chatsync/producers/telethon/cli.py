"""``chatsync telethon login | status | run``: a Telegram user account through Telethon."""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import dataclass

import click

from chatsync.producers.publisher import RawPublisher
from chatsync.producers.telethon.chatindex import MessageChatIndex, index_path
from chatsync.producers.telethon.client import TelethonConnection, load_session, make_client
from chatsync.producers.telethon.errors import NotAuthorized, TelethonError
from chatsync.producers.telethon.events import Scope
from chatsync.producers.telethon.health import HealthFile, LiveHealth, health_path
from chatsync.producers.telethon.ingest import LiveIngest
from chatsync.producers.telethon.live import LiveRunner
from chatsync.producers.telethon.login import Account, CodeSent, login
from chatsync.producers.telethon.session import EncryptedSession
from chatsync.settings import Settings

INCLUDE_GROUPS = click.option(
    "--include-groups/--private-only",
    default=None,
    help="Also basic groups and channels (default: TG_INCLUDE_GROUPS, else private chats only).",
)


def groups_in_scope(settings: Settings, flag: bool | None) -> bool:
    """The flag, else TG_INCLUDE_GROUPS (read only when settings.py declares it)."""
    return flag if flag is not None else bool(getattr(settings, "tg_include_groups", False))


def signed_in_account(session: EncryptedSession) -> int:
    if not session.authorized or session.account_user_id is None:
        raise NotAuthorized()
    return session.account_user_id


@click.group()
def telethon() -> None:
    """A Telegram user account (Telethon): sign in, run the live producer, show status."""


@dataclass
class ClickPrompts:
    """Answers from flags or the environment; the terminal asks for the rest when there is one."""

    given_phone: str | None
    given_code: str | None
    given_password: str | None
    interactive: bool

    def phone(self) -> str | None:
        return self.given_phone or self._ask("Phone number (international format, +…)")

    def code(self) -> str | None:
        return self.given_code or self._ask("Login code Telegram sent")

    def password(self) -> str | None:
        return self.given_password or self._ask("Two-step verification password", hide=True)

    def _ask(self, text: str, hide: bool = False) -> str | None:
        return str(click.prompt(text, hide_input=hide)).strip() if self.interactive else None


@telethon.command("login")
@click.option("--phone", envvar="TG_PHONE", help="Phone number of the account (env TG_PHONE).")
@click.option("--code", envvar="TG_CODE", help="Login code Telegram sent (env TG_CODE).")
@click.option("--password", envvar="TG_PASSWORD", help="Two-step password (env TG_PASSWORD).")
@click.pass_context
def login_command(
    ctx: click.Context, phone: str | None, code: str | None, password: str | None
) -> None:
    """Sign the account in and keep its session, encrypted, at TG_SESSION_PATH.

    Without a terminal, run it twice: with --phone (Telegram sends a code), then with --code.
    """
    settings: Settings = ctx.obj["settings"]
    prompts = ClickPrompts(phone, code, password, interactive=sys.stdin.isatty())
    result = asyncio.run(_login(settings, prompts))
    if isinstance(result, CodeSent):
        click.echo(
            f"Telegram sent a login code to {result.phone}: "
            "run `chatsync telethon login --code CODE` (or set TG_CODE)"
        )
    else:
        click.echo(f"signed in as {result.describe()}; session at {settings.tg_session_path}")


async def _login(settings: Settings, prompts: ClickPrompts) -> Account | CodeSent:
    session = load_session(settings)
    client = make_client(settings, session)

    def remember(sent: CodeSent | None) -> None:
        session.pending_code = (sent.phone, sent.phone_code_hash) if sent else None
        session.save()

    try:
        sent = CodeSent(*session.pending_code) if session.pending_code else None
        result = await login(client, prompts, sent=sent, remember=remember)
        if isinstance(result, Account):
            session.account_user_id = result.user_id
            session.save()
        return result
    finally:
        await client.disconnect()


@telethon.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """The session (signed in? which account?) and the live producer's health; exit 1 when
    the account is not signed in."""
    settings: Settings = ctx.obj["settings"]
    if not settings.tg_session_path.exists():
        raise TelethonError(
            f"no session at {settings.tg_session_path}: run `chatsync telethon login`"
        )
    session = load_session(settings, read_only=True)
    click.echo(f"session: {settings.tg_session_path} (encrypted)")
    click.echo(f"signed in: {'yes' if session.authorized else 'no'}")
    click.echo(f"account: {session.account_user_id or 'unknown'}")
    for entity, state in sorted(session.get_update_states()):
        click.echo(f"update state {entity}: pts={state.pts} qts={state.qts} date={state.date}")
    if session.account_user_id is not None:
        health = HealthFile.read(health_path(settings.var_dir, session.account_user_id))
        for key, value in (health or {"live producer": "never ran here"}).items():
            click.echo(f"{key.replace('_', ' ')}: {value}")
    if not session.authorized:
        ctx.exit(1)


@telethon.command()
@INCLUDE_GROUPS
@click.pass_context
def run(ctx: click.Context, include_groups: bool | None) -> None:
    """Publish the account's live updates to the raw mtproto topic until SIGINT/SIGTERM."""
    settings: Settings = ctx.obj["settings"]
    asyncio.run(_run(settings, groups_in_scope(settings, include_groups)))


async def _run(settings: Settings, groups: bool) -> None:
    session = load_session(settings)
    account = signed_in_account(session)
    publisher = RawPublisher(
        settings.kafka_bootstrap_servers,
        client_id="chatsync-telethon",
        ack_timeout_s=settings.kafka_publish_timeout_ms / 1000,
    )
    await publisher.start()
    index = MessageChatIndex(index_path(settings.tg_session_path, account))
    health = LiveHealth(account_user_id=account)
    health_file = HealthFile(health_path(settings.var_dir, account))
    ingest = LiveIngest(
        publisher,
        topic=settings.topic_raw_mtproto,
        scope=Scope(account, groups),
        index=index,
        health=health,
        health_file=health_file,
    )
    session.persist_updates = lambda: ingest.settled
    runner = LiveRunner(TelethonConnection(settings, session, ingest), ingest, health_file)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, runner.stop)
    try:
        if not await runner.run():
            click.echo(
                "stopped with updates not yet in Kafka: the next run fetches them again", err=True
            )
    finally:
        session.save()
        index.close()
        await publisher.stop()
