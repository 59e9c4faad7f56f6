"""``chatsync reprocess``: reset the worker so it derives everything again from the raw topics."""

from __future__ import annotations

import asyncio

import click

from chatsync.replay.errors import UnsafeOperation
from chatsync.replay.reprocess import ResetPlan, execute, make_plan, reset_lines
from chatsync.replay.worker_state import worker_state
from chatsync.settings import Settings


@click.command()
@click.option(
    "--truncate-outputs",
    is_flag=True,
    help="Also delete and recreate TOPIC_DEALS, "
    "TOPIC_CUSTOMERS and TOPIC_MESSAGES (empty), so they hold only the new derivation.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Show the steps and the checks; change nothing.")
@click.pass_context
def reprocess(ctx: click.Context, truncate_outputs: bool, yes: bool, dry_run: bool) -> None:
    """Rebuild all derived state from the raw topics after a normalisation change.

    \b
    The steps are shown first, then done after confirmation (or with --yes):
      1. check that the worker's consumer group (WORKER_APP_ID) has no active member, and
         with --truncate-outputs that no group reading the normalised topics has one;
         refused otherwise (stop `chatsync worker` first);
      2. delete the worker's consumer group (its committed offsets);
      3. delete its internal topics: <app>-deal-inputs, <app>-customer-inputs,
         <app>-<table>-changelog and <app>-__assignor-__leader;
      4. delete its RocksDB directory CHATSYNC_VAR_DIR/worker/<app>;
      5. with --truncate-outputs: delete the normalised topics and create them again, empty.

    Then start `chatsync worker`: it reads the raw topics from the earliest retained record
    and derives everything again. Event ids are deterministic and the sinks idempotent, so what
    the new rules derive as before comes out identical. For records older than the raw
    topics' retention, restore the archive into fresh raw topics first (chatsync replay
    --from-archive) and run this and the worker with TOPIC_RAW_* naming them.
    """
    settings: Settings = ctx.obj["settings"]
    state = worker_state(settings)
    plan = asyncio.run(make_plan(settings, state, truncate_outputs))
    for line in reset_lines(plan):
        click.echo(line)
    reason = plan.refusal()
    if reason:
        raise UnsafeOperation(f"refused: {reason}")
    if dry_run:
        click.echo("dry run: nothing was changed")
        return
    if not yes:
        click.confirm(f"Reset worker {state.app_id} as above?", abort=True)
    _execute(settings, plan)
    click.echo(
        f"done: start the worker (WORKER_APP_ID={state.app_id} chatsync worker) to "
        "derive everything again"
    )


def _execute(settings: Settings, plan: ResetPlan) -> None:
    asyncio.run(execute(settings, plan, click.echo))
