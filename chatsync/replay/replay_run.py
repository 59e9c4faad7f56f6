"""One ``chatsync replay`` run: checks, plan, checkpoint, progress, summary."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field

import click
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from chatsync.infra.aws import s3_client
from chatsync.replay.archive_store import ArchiveReader, S3ObjectStore
from chatsync.replay.checkpoint import Checkpoint, CheckpointFile
from chatsync.replay.config import ReplayConfig
from chatsync.replay.errors import ReplayError, UnsafeOperation
from chatsync.replay.kafka_io import BatchProducer, admin_client, partitions_of, stop_on_signals
from chatsync.replay.naming import ArchiveLayout
from chatsync.replay.plan import PartitionPlan, ReplayPlan, plan_lines, summary_lines
from chatsync.replay.replayer import Replayer, Target, recover_sent
from chatsync.replay.sources import ArchiveSource, Source, TopicSource
from chatsync.settings import Settings
from chatsync.topics import declared_topics


@dataclass(frozen=True)
class ReplayRequest:
    """What the user asked for; ``params`` identify the replay (its default id, resume check)."""

    topic: str
    to_topic: str
    from_offset: dict[int, int] = field(default_factory=dict)
    since_ms: int | None = None
    until_ms: int | None = None
    from_archive: bool = False
    archive_prefix: str = "raw"
    allow_same_topic: bool = False
    create_target: bool = False
    rate: float | None = None

    def params(self) -> dict[str, str]:
        keys = ("topic", "to_topic", "from_offset", "since_ms", "until_ms", "from_archive")
        chosen = {k: v for k, v in asdict(self).items() if k in keys}
        if self.from_archive:
            chosen["archive_prefix"] = self.archive_prefix
        return {k: json.dumps(v, sort_keys=True) for k, v in chosen.items()}

    def default_id(self) -> str:
        text = json.dumps(self.params(), sort_keys=True)
        return f"replay-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


async def replay(settings: Settings, request: ReplayRequest, replay_id: str, dry_run: bool) -> bool:
    """Plan (and unless ``dry_run``, run) the replay; False when it was interrupted."""
    _refuse_unsafe_target(settings, request)
    async with _source(settings, request) as source:
        plan = ReplayPlan(source.description, request.to_topic, tuple(await source.plan()))
        for line in plan_lines(plan):
            click.echo(line)
        if dry_run:
            click.echo("dry run: nothing was written")
            return True
        file = CheckpointFile(ReplayConfig.from_settings(settings).replay_dir, replay_id)
        servers = settings.kafka_bootstrap_servers
        partitions = await _target_partitions(servers, request, len(plan.partitions), settings)
        async with BatchProducer(servers, client_id=f"chatsync-replay-{replay_id}") as producer:
            target = Target(producer, servers, request.to_topic, partitions)
            checkpoint = await _checkpoint(file, replay_id, request, plan, target)
            if checkpoint.status == "done":
                click.echo(f"replay {replay_id} was already complete; nothing was written")
                return True
            plans = _resumed_plans(plan, checkpoint)
            return await _run(source, target, checkpoint, file, plans, request.rate)


def _refuse_unsafe_target(settings: Settings, request: ReplayRequest) -> None:
    raw = {settings.topic_raw_botapi, settings.topic_raw_mtproto}
    others = {t.name for t in declared_topics(settings)} - raw
    if request.to_topic in others:
        raise UnsafeOperation(
            f"{request.to_topic} is not a raw topic: replays write raw envelopes only into raw "
            "topics or topics of your own"
        )
    same = request.to_topic == request.topic and not request.from_archive
    if same and not request.allow_same_topic:
        raise UnsafeOperation(
            f"the replay would write into {request.topic}, the topic it reads: pass "
            "--to-topic, or --allow-same-topic if appending the records again is intended"
        )


@contextlib.asynccontextmanager
async def _source(settings: Settings, request: ReplayRequest) -> AsyncIterator[Source]:
    if not request.from_archive:
        yield TopicSource(
            settings.kafka_bootstrap_servers,
            request.topic,
            request.from_offset,
            request.since_ms,
            request.until_ms,
        )
        return
    async with s3_client(settings) as client:
        reader = ArchiveReader(
            S3ObjectStore(client, settings.s3_bucket), ArchiveLayout(request.archive_prefix)
        )
        yield ArchiveSource(reader, request.topic, request.since_ms, request.until_ms)


async def _target_partitions(
    servers: str, request: ReplayRequest, source_partitions: int, settings: Settings
) -> int:
    async with admin_client(servers) as admin:
        if request.to_topic not in set(await admin.list_topics()):
            if not request.create_target:
                raise ReplayError(
                    f"target topic {request.to_topic} does not exist: create it, "
                    "or pass --create-target"
                )
            await _create_target(admin, request.to_topic, max(source_partitions, 1), settings)
        count = len(await partitions_of(admin, request.to_topic))
    if count != source_partitions:
        click.echo(
            f"note: {request.to_topic} has {count} partitions, the source {source_partitions}: "
            "records are placed by key, so each conversation stays in order in one partition"
        )
    return count


async def _create_target(
    admin: AIOKafkaAdminClient, name: str, partitions: int, settings: Settings
) -> None:
    """A topic like the raw topics (cleanup and retention) with the source's partition count."""
    raw = next(t for t in declared_topics(settings) if t.name == settings.topic_raw_mtproto)
    topic = NewTopic(name, partitions, raw.replication_factor, topic_configs=raw.configs())
    await admin.create_topics([topic])
    click.echo(f"created {name} ({partitions} partitions, configured like the raw topics)")


async def _checkpoint(
    file: CheckpointFile, replay_id: str, request: ReplayRequest, plan: ReplayPlan, target: Target
) -> Checkpoint:
    existing = file.load()
    if existing is None:
        checkpoint = Checkpoint.new(
            replay_id, request.params(), target.topic, list(plan.partitions)
        )
        checkpoint.target_marks = await target.marks()
        file.save(checkpoint)  # before the first record: a resume then knows where to look
        click.echo(f"replay {replay_id}: checkpoint {file.path}")
        return checkpoint
    if existing.params != request.params():
        raise ReplayError(
            f"replay {replay_id} was started with other options ({file.path}); use another --id"
        )
    if existing.status == "running":
        found = await recover_sent(existing, target)
        file.save(existing)
        done = sum(existing.replayed.values())
        late = f" ({found:,} of them after the last checkpoint)" if found else ""
        click.echo(f"resuming replay {replay_id}: {done:,} records were copied before{late}")
    return existing


def _resumed_plans(plan: ReplayPlan, checkpoint: Checkpoint) -> list[PartitionPlan]:
    """The plan bounded by the checkpoint's ranges (fixed when the replay first started)."""
    plans = []
    for part in plan.partitions:
        saved = checkpoint.partitions.get(part.key)
        if saved is not None:
            plans.append(
                PartitionPlan(
                    part.topic,
                    part.partition,
                    saved.start,
                    saved.end,
                    saved.end - saved.start,
                    part.exact,
                )
            )
    return plans


async def _run(
    source: Source,
    target: Target,
    checkpoint: Checkpoint,
    file: CheckpointFile,
    plans: list[PartitionPlan],
    rate: float | None,
) -> bool:
    stop = asyncio.Event()
    started = time.monotonic()
    label = f"replay {checkpoint.replay_id} -> {target.topic}"
    with click.progressbar(
        length=max(checkpoint.remaining, 1),
        label=label,
        show_pos=True,
        item_show_func=lambda rate: rate,
        file=click.get_text_stream("stderr"),
    ) as bar:
        copied = 0

        def progress(count: int) -> None:
            nonlocal copied
            copied += count
            per_second = copied / max(time.monotonic() - started, 1e-6)
            bar.update(count, f"{per_second:,.0f} records/s")

        replayer = Replayer(source, target, checkpoint, file, rate=rate, progress=progress)
        with stop_on_signals(stop):
            finished = await replayer.run(plans, stop)
    elapsed = time.monotonic() - started
    for line in summary_lines(checkpoint.replay_id, checkpoint.replayed, elapsed, finished):
        click.echo(line)
    return finished
