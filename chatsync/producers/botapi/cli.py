"""`chatsync polling` and `chatsync webhook set | delete | info`."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import click
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

from chatsync.errors import ChatsyncError, ConfigError
from chatsync.producers.botapi.client import ALLOWED_UPDATES, make_bot
from chatsync.producers.botapi.ingest import BotApiIngest
from chatsync.producers.botapi.polling import AiogramFeed, OffsetFile, PollingProducer
from chatsync.producers.botapi.updates import bot_id_from_token
from chatsync.producers.publisher import RawPublisher
from chatsync.settings import Settings


def _token(settings: Settings) -> str:
    token = settings.telegram_bot_token
    if token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: this command needs it")
    return token.get_secret_value()


@click.command()
@click.pass_context
def polling(ctx: click.Context) -> None:
    """Fetch Business updates with getUpdates and publish them to the raw topic."""
    asyncio.run(poll(ctx.obj["settings"]))


async def poll(settings: Settings) -> None:
    token = _token(settings)
    bot, raw = make_bot(token)
    bot_id = bot_id_from_token(token)
    publisher = RawPublisher(
        settings.kafka_bootstrap_servers,
        ack_timeout_s=settings.kafka_publish_timeout_ms / 1000,
        client_id="chatsync-polling",
    )
    await publisher.start()
    ingest = BotApiIngest(
        publisher,
        raw_topic=settings.topic_raw_botapi,
        dlq_topic=settings.topic_dlq,
        bot_id=bot_id,
        stage="polling",
    )
    offsets = OffsetFile(settings.var_dir / "polling" / f"bot-{bot_id}.offset")
    producer = PollingProducer(AiogramFeed(bot, raw), ingest, offsets)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, producer.stop)
    try:
        await producer.run()
    finally:
        await publisher.stop()
        await bot.session.close()


@click.group()
def webhook() -> None:
    """Register, remove or inspect the Bot API webhook (setWebhook, getWebhookInfo)."""


@webhook.command("set")
@click.option("--url", default=None, help="Public HTTPS URL (default: TELEGRAM_WEBHOOK_URL).")
@click.option("--max-connections", default=40, show_default=True, type=click.IntRange(1, 100))
@click.option("--drop-pending-updates", is_flag=True, help="Discard updates Telegram still holds.")
@click.pass_context
def set_(
    ctx: click.Context, url: str | None, max_connections: int, drop_pending_updates: bool
) -> None:
    """setWebhook with the secret token and the Business update types."""
    settings: Settings = ctx.obj["settings"]
    target = url or settings.telegram_webhook_url
    if not target:
        raise ConfigError("TELEGRAM_WEBHOOK_URL is not set (or pass --url)")
    secret = settings.telegram_webhook_secret
    if secret is None:
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET is not set: the webhook needs a secret token")
    _call(
        ctx,
        lambda bot: bot.set_webhook(
            url=target,
            secret_token=secret.get_secret_value(),
            allowed_updates=ALLOWED_UPDATES,
            max_connections=max_connections,
            drop_pending_updates=drop_pending_updates,
        ),
    )
    click.echo(f"webhook set: {target} ({', '.join(ALLOWED_UPDATES)})")


@webhook.command()
@click.option("--drop-pending-updates", is_flag=True, help="Discard updates Telegram still holds.")
@click.pass_context
def delete(ctx: click.Context, drop_pending_updates: bool) -> None:
    """deleteWebhook (then `chatsync polling` can fetch updates)."""
    _call(ctx, lambda bot: bot.delete_webhook(drop_pending_updates=drop_pending_updates))
    click.echo("webhook deleted")


@webhook.command()
@click.pass_context
def info(ctx: click.Context) -> None:
    """getWebhookInfo: URL, pending updates, last error."""
    result = _call(ctx, lambda bot: bot.get_webhook_info())
    for line in describe_webhook_info(result.model_dump(exclude_none=True)):
        click.echo(line)


def describe_webhook_info(info: dict[str, Any]) -> list[str]:
    lines = [
        f"url: {info.get('url') or '(none: polling mode)'}",
        f"pending updates: {info.get('pending_update_count', 0)}",
        f"max connections: {info.get('max_connections', '-')}",
        f"allowed updates: {', '.join(info.get('allowed_updates') or []) or '(all but some)'}",
    ]
    if info.get("last_error_date"):
        lines.append(f"last error: {info['last_error_date']} {info.get('last_error_message', '')}")
    else:
        lines.append("last error: none")
    return lines


def _call(ctx: click.Context, method: Any) -> Any:
    """Call one Bot API method; ``ctx.obj["bot_session"]`` replaces the HTTP session in tests."""
    settings: Settings = ctx.obj["settings"]

    async def call() -> Any:
        bot, _ = make_bot(_token(settings), ctx.obj.get("bot_session"))
        try:
            return await method(bot)
        except (TelegramAPIError, TelegramNetworkError) as exc:
            raise ChatsyncError(f"Telegram answered: {exc}") from exc
        finally:
            await bot.session.close()

    return asyncio.run(call())
