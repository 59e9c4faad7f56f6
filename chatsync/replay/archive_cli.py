"""``chatsync archive``: the raw topics into the S3 archive, continuously (or ``--once``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import click

from chatsync.infra.aws import s3_client
from chatsync.replay.archive_store import ArchiveReader, S3ObjectStore
from chatsync.replay.archiver import Archiver, ArchiveStats, archiver_consumer
from chatsync.replay.batching import Rotation
from chatsync.replay.config import ReplayConfig
from chatsync.replay.kafka_io import stop_on_signals
from chatsync.replay.naming import ArchiveLayout
from chatsync.settings import Settings

_DEFAULTS = ReplayConfig()


@click.command()
@click.option(
    "--topic",
    "topics",
    multiple=True,
    help="A topic to archive (repeatable); default: TOPIC_RAW_BOTAPI and TOPIC_RAW_MTPROTO.",
)
@click.option("--group", default=None, help="Consumer group [ARCHIVE_GROUP: chatsync-archiver].")
@click.option("--prefix", default=None, help="Key prefix in S3_BUCKET [ARCHIVE_PREFIX: raw].")
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=None,
    help="Rotate before an object's JSON lines exceed this many bytes "
    f"[ARCHIVE_MAX_BYTES: {_DEFAULTS.archive_max_bytes}].",
)
@click.option(
    "--max-span",
    type=click.IntRange(min=0),
    default=None,
    help="Rotate before an object's record timestamps span more than this many seconds "
    f"[ARCHIVE_MAX_SPAN_S: {_DEFAULTS.archive_max_span_s}].",
)
@click.option(
    "--idle-flush",
    type=click.FloatRange(min=0),
    default=None,
    help="Write a partition's open object once its end was reached and nothing came "
    f"for this many seconds [ARCHIVE_IDLE_FLUSH_S: {_DEFAULTS.archive_idle_flush_s}].",
)
@click.option(
    "--once",
    is_flag=True,
    help="Archive up to the current end of every partition, then exit (for batch jobs).",
)
@click.pass_context
def archive(
    ctx: click.Context,
    topics: tuple[str, ...],
    group: str | None,
    prefix: str | None,
    max_bytes: int | None,
    max_span: int | None,
    idle_flush: float | None,
    once: bool,
) -> None:
    """Write every record of the raw topics to S3 as gzip JSON Lines, until SIGINT/SIGTERM.

    Objects are named s3://S3_BUCKET/<prefix>/<topic>/partition=<p>/<first>-<last>.jsonl.gz
    (offsets zero-padded to 20 digits). Offsets are committed only after an object is written,
    and boundaries depend only on the records (size, record-time span, end of partition), so a
    crash makes the next run rewrite the same objects, byte for byte, never a duplicate.

    Query with DuckDB: SELECT * FROM read_json_auto('s3://BUCKET/raw/tg.raw.botapi/*/*.jsonl.gz').
    """
    settings: Settings = ctx.obj["settings"]
    config = ReplayConfig.from_settings(settings)
    rotation = Rotation(
        max_bytes=max_bytes or config.archive_max_bytes,
        max_span_ms=(config.archive_max_span_s if max_span is None else max_span) * 1000,
    )
    job = ArchiveJob(
        topics=list(topics) or [settings.topic_raw_botapi, settings.topic_raw_mtproto],
        group=group or config.archive_group,
        layout=ArchiveLayout(config.archive_prefix if prefix is None else prefix),
        rotation=rotation,
        idle_flush_s=config.archive_idle_flush_s if idle_flush is None else idle_flush,
        once=once,
    )
    stats = asyncio.run(_archive(settings, job))
    click.echo(
        f"archived {stats.records:,} records in {stats.objects:,} objects "
        f"({stats.bytes:,} bytes compressed)"
    )


@dataclass(frozen=True)
class ArchiveJob:
    topics: list[str]
    group: str
    layout: ArchiveLayout
    rotation: Rotation
    idle_flush_s: float
    once: bool


async def _archive(settings: Settings, job: ArchiveJob) -> ArchiveStats:
    stop = asyncio.Event()
    async with s3_client(settings) as client:
        reader = ArchiveReader(S3ObjectStore(client, settings.s3_bucket), job.layout)
        consumer = archiver_consumer(settings.kafka_bootstrap_servers, job.group)
        archiver = Archiver(consumer, reader, job.rotation)
        consumer.subscribe(job.topics, listener=archiver)
        await consumer.start()
        try:
            with stop_on_signals(stop):
                await archiver.run(stop, idle_flush_s=job.idle_flush_s, once=job.once)
        finally:
            await consumer.stop()
    return archiver.stats
