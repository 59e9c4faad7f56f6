"""`chatsync demo`: the bundled Business feed, posted through the real webhook."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import click

from chatsync.errors import ConfigError
from chatsync.producers.demo.poster import post_updates
from chatsync.producers.demo.scenario import demo_updates, stream_updates
from chatsync.settings import Settings


def local_webhook_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::") else settings.api_host  # noqa: S104
    return f"http://{host}:{settings.api_port}/telegram/webhook/"


def demo_feed(
    *, continuous: bool, owners: int, customers: int, messages: int, seed: int
) -> Iterable[dict[str, Any]]:
    if continuous:
        return stream_updates(10**12, seed=seed, owners=owners, customers_per_owner=customers)
    return demo_updates(seed=seed, owners=owners, customers_per_owner=customers,
                        messages_per_chat=messages)  # fmt: skip


@click.command()
@click.option("--url", default=None, help="Webhook URL (default: this machine's `chatsync api`).")
@click.option("--rate", default=20.0, show_default=True, help="Updates per second (0: no limit).")
@click.option("--owners", default=3, show_default=True, type=click.IntRange(1, 1000))
@click.option("--customers", default=4, show_default=True, type=click.IntRange(1, 10_000),
              help="Customers per owner.")  # fmt: skip
@click.option("--messages", default=8, show_default=True, type=click.IntRange(1, 10_000),
              help="Messages per chat.")  # fmt: skip
@click.option("--seed", default=7, show_default=True)
@click.option("--continuous", is_flag=True, help="Keep posting new conversations until stopped.")
@click.pass_context
def demo(
    ctx: click.Context, url: str | None, rate: float, owners: int, customers: int, messages: int,
    seed: int, continuous: bool,
) -> None:  # fmt: skip
    """Post a realistic set of Business updates (several owners and customers, media, replies,
    forwards, edits, deletes, many scripts) to the webhook, like Telegram would."""
    settings: Settings = ctx.obj["settings"]
    secret = settings.telegram_webhook_secret
    if secret is None:
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET is not set: the demo posts with it")
    feed = demo_feed(continuous=continuous, owners=owners, customers=customers,
                     messages=messages, seed=seed)  # fmt: skip
    summary = asyncio.run(post_updates(feed, url=url or local_webhook_url(settings),
                                       secret=secret.get_secret_value(), rate=rate))  # fmt: skip
    click.echo(
        f"posted {summary.accepted} updates in {summary.seconds:.1f} s ({summary.rate:.0f}/s), "
        f"{summary.retries} retries, rejected: {summary.rejected}"
    )
