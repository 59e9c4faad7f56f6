"""``chatsync import-export``: a Telegram Desktop export into the raw mtproto topic."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from aiokafka.errors import KafkaError

from chatsync.envelopes import RawEnvelope
from chatsync.replay.errors import ReplayError
from chatsync.replay.export.reading import read_export
from chatsync.replay.export.report import ImportReport
from chatsync.replay.kafka_io import BatchProducer
from chatsync.settings import Settings

CHUNK = 1000


@click.command(name="import-export")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--owner-user-id",
    type=int,
    required=True,
    help="The Telegram user id of the account that made the export (the deal owner).",
)
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the report as JSON to this file.",
)
@click.option(
    "--allow-skips",
    is_flag=True,
    help="Publish what is valid even when some messages must be skipped.",
)
@click.option("--skip-service", is_flag=True, help="Leave out service messages (calls, pins...).")
@click.option(
    "--timezone",
    default="UTC",
    show_default=True,
    help="Timezone of the export's local dates, for exports without *_unixtime.",
)
@click.option("--dry-run", is_flag=True, help="Validate and report; publish nothing.")
@click.pass_context
def import_export(
    ctx: click.Context,
    path: Path,
    owner_user_id: int,
    report_file: Path | None,
    allow_skips: bool,
    skip_service: bool,
    timezone: str,
    dry_run: bool,
) -> None:
    """Import a Telegram Desktop JSON export (result.json of one chat, or of the whole account)
    as `export` records of the raw mtproto topic, for the owner --owner-user-id.

    The whole file is validated first. Messages that cannot be imported are listed with the
    reason; then nothing is published (exit code 1) unless --allow-skips. Messages carry the
    identity Telethon gives them (new_message:<chat>:<id>), so history that live updates or
    backfill already delivered is recognised by the normaliser, and running an import twice
    changes nothing downstream. Private chats only; other chats and service actions without an
    MTProto counterpart are omitted and listed.
    """
    settings: Settings = ctx.obj["settings"]
    file = path / "result.json" if path.is_dir() else path
    result = read_export(
        _load(file),
        str(file),
        owner_user_id,
        local_timezone=_zone(timezone),
        keep_service=not skip_service,
    )
    report = result.report
    report.dry_run = dry_run
    blocked = report.skipped > 0 and not allow_skips
    if not blocked and not dry_run:
        try:
            asyncio.run(_publish(settings, result.envelopes, report))
        finally:
            _show(report, report_file)
    else:
        _show(report, report_file)
    if blocked:
        click.echo("nothing was published: fix the export, or pass --allow-skips", err=True)
        ctx.exit(1)
    if not result.envelopes:
        ctx.exit(1)  # the report says why there is nothing to import


def _load(file: Path) -> object:
    try:
        return json.loads(file.read_bytes())
    except (OSError, ValueError) as exc:
        raise ReplayError(f"{file}: not a readable JSON export ({exc})") from None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown timezone {name!r}", param_hint="--timezone") from None


async def _publish(settings: Settings, envelopes: list[RawEnvelope], report: ImportReport) -> None:
    topic = settings.topic_raw_mtproto
    try:
        async with BatchProducer(settings.kafka_bootstrap_servers, "chatsync-import") as producer:
            for start in range(0, len(envelopes), CHUNK):
                chunk = envelopes[start : start + CHUNK]
                for envelope in chunk:
                    await producer.send(topic, envelope.partition_key(), envelope.to_bytes())
                await producer.flush()
                report.published += len(chunk)
    except KafkaError as exc:
        raise ReplayError(
            f"publishing stopped after {report.published} of {len(envelopes)} records ({exc}); "
            "run the import again: what was published already is recognised and ignored"
        ) from exc


def _show(report: ImportReport, report_file: Path | None) -> None:
    for line in report.lines():
        click.echo(line)
    if report_file is not None:
        report_file.write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
