"""``chatsync replay``: raw records again, from a topic or the archive, into a raw topic or a
fresh consumer group of the worker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import click

from chatsync.replay.config import ReplayConfig
from chatsync.replay.errors import ReplayError
from chatsync.replay.groups import GroupState, group_state
from chatsync.replay.kafka_io import admin_client
from chatsync.replay.plan import ReplayPlan, plan_lines
from chatsync.replay.replay_run import ReplayRequest, replay
from chatsync.replay.sources import TopicSource
from chatsync.replay.worker_target import launch_worker, worker_group, worker_lines
from chatsync.settings import Settings


class UtcTime(click.ParamType):
    """ISO-8601 (``2026-01-05``, ``2026-01-05T14:03:11``, ``...Z``, ``...+02:00``); naive is UTC.
    Converted to milliseconds since the epoch."""

    name = "TIME"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO-8601 time (e.g. 2026-01-05T14:03:11Z)", param, ctx)
        aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
        return int(aware.timestamp() * 1000)


def parse_offsets(text: str) -> dict[int, int]:
    """``N`` (every partition) or ``P:N[,P:N...]``; -1 stands for "every partition"."""
    try:
        if ":" not in text:
            return {-1: int(text)}
        pairs = (item.split(":", 1) for item in text.split(",") if item.strip())
        return {int(p): int(o) for p, o in pairs}
    except ValueError:
        raise click.BadParameter(f"expected N or P:N[,P:N...], got {text!r}") from None


def _resolve_topic(settings: Settings, name: str) -> str:
    aliases = {"botapi": settings.topic_raw_botapi, "mtproto": settings.topic_raw_mtproto}
    return aliases.get(name, name)


@click.command(name="replay")
@click.option("--topic", help="Source raw topic: botapi, mtproto or a topic name.")
@click.option(
    "--from-offset",
    help="Kafka source: start at offset N of every partition, or "
    "P:N[,P:N...] per partition (default: the earliest retained record).",
)
@click.option(
    "--from-time",
    type=UtcTime(),
    help="Kafka source: start at the first record at or after this time.",
)
@click.option("--from-archive", is_flag=True, help="Read the S3 archive instead of the topic.")
@click.option(
    "--since",
    type=UtcTime(),
    help="Archive source: from the first record at or "
    "after this time (default: the start of the archive).",
)
@click.option(
    "--until",
    type=UtcTime(),
    help="Stop before the first record at or after this "
    "time (default: where the topic ended when the replay started, or the archive's end).",
)
@click.option(
    "--to-topic",
    help="Target raw topic (default: the configured raw topic of the "
    "source: TOPIC_RAW_BOTAPI or TOPIC_RAW_MTPROTO).",
)
@click.option(
    "--allow-same-topic",
    is_flag=True,
    help="Allow appending the records to the topic they are read from.",
)
@click.option("--create-target", is_flag=True, help="Create the target topic if it is missing.")
@click.option(
    "--to-worker",
    is_flag=True,
    help="Target: a fresh consumer group of the worker "
    "(prints how to start it; --launch starts it).",
)
@click.option("--launch", is_flag=True, help="With --to-worker: exec `chatsync worker` now.")
@click.option("--archive-prefix", default=None, help="Archive key prefix [ARCHIVE_PREFIX: raw].")
@click.option(
    "--id",
    "replay_id",
    help="Replay id: names the checkpoint (var/replay/<id>.json) "
    "and, with --to-worker, the group (default: derived from the options).",
)
@click.option("--rate", type=click.FloatRange(min=1), help="At most this many records/s.")
@click.option("--dry-run", is_flag=True, help="Show what would be replayed; write nothing.")
@click.pass_context
def replay_command(
    ctx: click.Context,
    topic: str | None,
    from_offset: str | None,
    from_time: int | None,
    from_archive: bool,
    since: int | None,
    until: int | None,
    to_topic: str | None,
    allow_same_topic: bool,
    create_target: bool,
    to_worker: bool,
    launch: bool,
    archive_prefix: str | None,
    replay_id: str | None,
    rate: float | None,
    dry_run: bool,
) -> None:
    """Replay raw records: from a topic (--from-offset / --from-time) or the S3 archive
    (--from-archive --since --until) into a raw topic (--to-topic), or into a fresh consumer group
    of the worker (--to-worker).

    \b
    Safe by default:
      * --dry-run shows per partition the offsets, record counts and time range, and writes nothing;
      * writing into the topic being read is refused without --allow-same-topic, and writing
        into a normalised topic (chat.*) always;
      * a replay stops at the end the source had when it started, so it always finishes;
      * progress is checkpointed in var/replay/<id>.json: run the same command (or --id) again
        after an interruption and it resumes, without duplicating records in the target.

    Keys, values and headers are kept (plus chatsync.replay.id / .source headers); records are
    placed by their key, so each conversation stays in one partition, in order.
    """
    settings: Settings = ctx.obj["settings"]
    if launch and not to_worker:
        raise ReplayError("--launch starts the worker of --to-worker; add --to-worker")
    if to_worker:
        _to_worker(settings, replay_id, from_offset, from_time, from_archive, launch, dry_run)
        return
    if topic is None:
        raise ReplayError("say which topic to replay: --topic botapi|mtproto|<name>")
    if from_archive and (from_offset or from_time):
        raise ReplayError("--from-offset and --from-time read a topic; the archive uses --since")
    if not from_archive and since is not None:
        raise ReplayError("--since selects from the archive (--from-archive); use --from-time")
    if from_offset and from_time is not None:
        raise ReplayError("use --from-offset or --from-time, not both")
    source = _resolve_topic(settings, topic)
    request = ReplayRequest(
        topic=source,
        to_topic=_resolve_topic(settings, to_topic)
        if to_topic
        else _default_target(settings, source),
        from_offset=parse_offsets(from_offset) if from_offset else {},
        since_ms=since if from_archive else from_time,
        until_ms=until,
        from_archive=from_archive,
        archive_prefix=archive_prefix or ReplayConfig.from_settings(settings).archive_prefix,
        allow_same_topic=allow_same_topic,
        create_target=create_target,
        rate=rate,
    )
    identity = replay_id or request.default_id()
    if not asyncio.run(replay(settings, request, identity, dry_run)):
        ctx.exit(1)


def _default_target(settings: Settings, source: str) -> str:
    if source in (settings.topic_raw_botapi, settings.topic_raw_mtproto):
        return source
    raise ReplayError(f"{source} is not a configured raw topic: say where to write (--to-topic)")


def _to_worker(
    settings: Settings,
    replay_id: str | None,
    from_offset: str | None,
    from_time: int | None,
    from_archive: bool,
    launch: bool,
    dry_run: bool,
) -> None:
    if from_offset or from_time is not None or from_archive:
        raise ReplayError(
            "a fresh worker reads the raw topics from their earliest record (its tables must see "
            "everything); to replay the archive, first restore it into a raw topic "
            "(--from-archive --to-topic ...), then point TOPIC_RAW_* at it for that worker"
        )
    group = worker_group(settings, replay_id or "1")
    state = asyncio.run(_group_state(settings, group))
    if dry_run:
        for topic in (settings.topic_raw_botapi, settings.topic_raw_mtproto):
            for line in asyncio.run(_topic_plan(settings, topic, group)):
                click.echo(line)
    for line in worker_lines(settings, group, state):
        click.echo(line)
    if state.active and launch:
        raise ReplayError(f"{group} already has members; not starting a second one")
    if launch and not dry_run:
        launch_worker(group)


async def _topic_plan(settings: Settings, topic: str, group: str) -> list[str]:
    source = TopicSource(settings.kafka_bootstrap_servers, topic)
    return plan_lines(ReplayPlan(source.description, f"worker {group}", tuple(await source.plan())))


async def _group_state(settings: Settings, group: str) -> GroupState:
    async with admin_client(settings.kafka_bootstrap_servers) as admin:
        return await group_state(admin, group)
