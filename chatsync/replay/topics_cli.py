"""``chatsync topics list | describe TOPIC | tail TOPIC``: the topics as the broker has them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import click

from chatsync.replay.inspect import RecordFilter, record_lines
from chatsync.replay.kafka_io import stop_on_signals
from chatsync.replay.records import KafkaRecord
from chatsync.replay.topics_query import (
    TopicInfo,
    follow,
    group_lags,
    tail_records,
    topic_infos,
)
from chatsync.settings import Settings
from chatsync.topics import declared_topics


def _servers(ctx: click.Context) -> str:
    settings: Settings = ctx.obj["settings"]
    return settings.kafka_bootstrap_servers


def _resolve(ctx: click.Context, name: str) -> str:
    settings: Settings = ctx.obj["settings"]
    aliases = {
        "botapi": settings.topic_raw_botapi,
        "mtproto": settings.topic_raw_mtproto,
        "deals": settings.topic_deals,
        "customers": settings.topic_customers,
        "messages": settings.topic_messages,
        "commands": settings.topic_commands,
        "dlq": settings.topic_dlq,
    }
    return aliases.get(name, name)


@click.group()
def topics() -> None:
    """Inspect Kafka topics: offsets, consumer-group lag, the latest records.

    TOPIC is a name or one of botapi, mtproto, deals, customers, messages, commands, dlq.
    """


@topics.command(name="list")
@click.pass_context
def list_topics(ctx: click.Context) -> None:
    """Every topic with its partitions, retained and written records (* = declared by chatsync),
    then every consumer group's total lag."""
    settings: Settings = ctx.obj["settings"]
    infos = asyncio.run(topic_infos(_servers(ctx)))
    declared = {t.name for t in declared_topics(settings)}
    click.echo(f"  {'topic':<48} {'partitions':>10} {'retained':>12} {'written':>12}  cleanup")
    for info in infos:
        mark = "*" if info.name in declared else " "
        policy = info.configs.get("cleanup.policy", "")
        click.echo(
            f"{mark} {info.name:<48} {len(info.bounds):>10} {info.retained:>12,} "
            f"{info.written:>12,}  {policy}"
        )
    groups = asyncio.run(group_lags(_servers(ctx), infos))
    if groups:
        click.echo(f"\n  {'consumer group':<48} {'lag':>12}")
        for group in groups:
            click.echo(f"  {group.group:<48} {group.total:>12,}")


@topics.command()
@click.argument("topic")
@click.pass_context
def describe(ctx: click.Context, topic: str) -> None:
    """Partitions (leader, earliest and end offset), configuration, and the lag of every
    consumer group that has committed offsets on the topic."""
    name = _resolve(ctx, topic)
    [info] = asyncio.run(topic_infos(_servers(ctx), [name]))
    click.echo(
        f"{info.name}: {len(info.bounds)} partitions, {info.retained:,} records retained, "
        f"{info.written:,} written"
    )
    for key, value in info.configs.items():
        click.echo(f"  {key} = {value}")
    click.echo(f"  {'partition':>9} {'leader':>6} {'earliest':>12} {'end':>12}")
    for partition, (start, end) in sorted(info.bounds.items()):
        leader = info.leaders.get(partition, -1)
        click.echo(f"  {partition:>9} {leader:>6} {start:>12,} {end:>12,}")
    for group in asyncio.run(group_lags(_servers(ctx), [info])):
        per_partition = ", ".join(
            f"{key.rpartition(':')[2]}: {lag:,}" for key, lag in sorted(group.partitions.items())
        )
        click.echo(f"  group {group.group}: lag {group.total:,} ({per_partition})")


@topics.command()
@click.argument("topic")
@click.option("-n", "--lines", "count", default=10, show_default=True, help="Records to show.")
@click.option("--deal", help="Only records of this deal (deal_...).")
@click.option("--chat", type=int, help="Only records of this Telegram chat id.")
@click.option(
    "--scan",
    default=10_000,
    show_default=True,
    help="With a filter: how many records back to look in each partition.",
)
@click.option("--compact", is_flag=True, help="One line per record (for jq and grep).")
@click.option("-f", "--follow", "following", is_flag=True, help="Then print new records.")
@click.pass_context
def tail(
    ctx: click.Context,
    topic: str,
    count: int,
    deal: str | None,
    chat: int | None,
    scan: int,
    compact: bool,
    following: bool,
) -> None:
    """The latest records of TOPIC, pretty-printed (newest last), across its partitions."""
    servers, matching = _servers(ctx), RecordFilter(deal, chat)
    [info] = asyncio.run(topic_infos(servers, [_resolve(ctx, topic)]))

    def emit(record: KafkaRecord) -> None:
        for line in record_lines(record, compact=compact):
            click.echo(line)

    for record in asyncio.run(tail_records(servers, info, count, matching, scan)):
        emit(record)
    if following:
        asyncio.run(_follow(servers, info, matching, emit))


async def _follow(
    servers: str, info: TopicInfo, matching: RecordFilter, emit: Callable[[KafkaRecord], None]
) -> None:
    stop = asyncio.Event()
    with stop_on_signals(stop):
        await follow(servers, info, matching, stop, emit)
