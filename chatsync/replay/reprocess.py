"""Reset the worker so that, started again, it derives every deal, customer and message anew.

Used after a change of the normalisation rules. The worker keeps what it derived in four places;
``chatsync reprocess`` empties them, in this order, and nothing else:

1. **Check** that the worker's consumer group (``WORKER_APP_ID``) has no active member: a running
   worker would write its tables back. Refused otherwise. With ``--truncate-outputs``, every
   group with offsets on the normalised topics (sinks, ...) must be stopped too.
2. **Delete the consumer group** ``WORKER_APP_ID``: its committed offsets on the raw and internal
   topics. The restarted worker begins at the earliest retained raw record.
3. **Delete the internal topics** ``<app>-deal-inputs``, ``<app>-customer-inputs``, the table
   changelogs ``<app>-<table>-changelog`` and Faust's ``<app>-__assignor-__leader``; the worker
   declares them again at start.
4. **Delete the RocksDB directory** ``<CHATSYNC_VAR_DIR>/worker/<app>`` (the local tables; the
   changelogs they would be restored from are gone with step 3).
5. Optionally (``--truncate-outputs``) **delete and recreate the normalised topics** (TOPIC_DEALS,
   TOPIC_CUSTOMERS, TOPIC_MESSAGES) as declared in ``chatsync.topics``, so they hold only what the
   new rules derive. Without it the new events are appended: events whose content did not change
   keep their ids (ids are UUIDv5 over the content) and idempotent sinks apply them once.

Then start the worker (``chatsync worker``). It reads the raw topics from their earliest retained
record with empty tables, and emits the same event ids for everything the new rules derive the
same way. Raw records older than the topics' retention are not in Kafka any more: restore them
from the archive into fresh raw topics first (``chatsync replay --from-archive``, then the rest
with ``chatsync replay --from-offset``) and run the reset and the worker with TOPIC_RAW_* naming
those topics.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient

from chatsync.infra.kafka import ensure_topics
from chatsync.replay.errors import UnsafeOperation
from chatsync.replay.groups import GroupState, delete_group, group_state, groups_reading
from chatsync.replay.kafka_io import admin_client, offset_bounds, plain_consumer
from chatsync.replay.worker_state import WorkerState
from chatsync.settings import Settings

DELETION_WAIT_S = 60.0


@dataclass
class ResetPlan:
    state: WorkerState
    group: GroupState
    existing_internal: list[str]
    truncate_outputs: bool
    output_readers: dict[str, GroupState] = field(default_factory=dict)
    trimmed_raw: list[str] = field(default_factory=list)  # "topic:partition" retention started

    def refusal(self) -> str | None:
        """Why the reset must not run now, or None."""
        if self.group.active:
            members = ", ".join(self.group.members) or self.group.state
            return (
                f"the worker's consumer group {self.group.group} is active ({members}): "
                "stop every `chatsync worker` of it first"
            )
        busy = [g.group for g in self.output_readers.values() if g.active]
        if busy:
            return (
                f"groups reading the normalised topics are active ({', '.join(busy)}): "
                "stop them before truncating those topics"
            )
        return None


def reset_lines(plan: ResetPlan) -> list[str]:
    """The steps the reset will take, numbered, for the confirmation prompt."""
    state = plan.state
    lines = [f"reset of worker {state.app_id}:"]
    known = "does not exist" if plan.group.state == "Dead" else plan.group.state
    lines.append(f"  1. delete consumer group {state.app_id} ({known})")
    internal = ", ".join(plan.existing_internal) or "none exist"
    lines.append(f"  2. delete internal topics: {internal}")
    lines.append(
        f"  3. delete {state.state_dir}" + ("" if state.state_dir.exists() else " (absent)")
    )
    if plan.truncate_outputs:
        names = ", ".join(t.name for t in state.outputs)
        lines.append(f"  4. delete and recreate {names}")
        for group in plan.output_readers:
            lines.append(f"     consumer group {group} will read them again from its reset policy")
    else:
        lines.append(
            "  (normalised topics kept: new events are appended, same ids where unchanged)"
        )
    if plan.trimmed_raw:
        lines.append(
            f"note: retention already removed the oldest records of "
            f"{', '.join(plan.trimmed_raw)}: restore them from the archive first"
        )
    return lines


async def make_plan(settings: Settings, state: WorkerState, truncate_outputs: bool) -> ResetPlan:
    async with admin_client(settings.kafka_bootstrap_servers) as admin:
        existing = set(await admin.list_topics())
        plan = ResetPlan(
            state=state,
            group=await group_state(admin, state.app_id),
            existing_internal=[t for t in state.internal_topics if t in existing],
            truncate_outputs=truncate_outputs,
        )
        if truncate_outputs:
            readers = await groups_reading(admin, {t.name for t in state.outputs})
            plan.output_readers = {g: await group_state(admin, g) for g in readers}
        plan.trimmed_raw = await _trimmed(settings, admin, existing)
    return plan


async def _trimmed(settings: Settings, admin: AIOKafkaAdminClient, existing: set[str]) -> list[str]:
    trimmed = []
    async with plain_consumer(settings.kafka_bootstrap_servers) as consumer:
        for topic in (settings.topic_raw_botapi, settings.topic_raw_mtproto):
            if topic not in existing:
                continue
            [described] = await admin.describe_topics([topic])
            partitions = [p["partition"] for p in described["partitions"]]
            for partition, (start, _) in (await offset_bounds(consumer, topic, partitions)).items():
                if start > 0:
                    trimmed.append(f"{topic}:{partition}")
    return trimmed


async def execute(settings: Settings, plan: ResetPlan, echo: Callable[[str], None]) -> None:
    """Run the steps; the checks are made again right before, against a worker started since."""
    servers = settings.kafka_bootstrap_servers
    async with admin_client(servers) as admin:
        fresh = await make_plan(settings, plan.state, plan.truncate_outputs)
        reason = fresh.refusal()
        if reason:
            raise UnsafeOperation(reason)
        deleted = await delete_group(servers, admin, plan.state.app_id)
        echo(f"consumer group {plan.state.app_id}: {'deleted' if deleted else 'did not exist'}")
        await _delete_topics(admin, fresh.existing_internal)
        echo(f"internal topics deleted: {len(fresh.existing_internal)}")
        if plan.state.state_dir.exists():
            shutil.rmtree(plan.state.state_dir)
        echo(f"state directory removed: {plan.state.state_dir}")
        if plan.truncate_outputs:
            outputs = list(plan.state.outputs)
            await _delete_topics(admin, [t.name for t in outputs])
            await ensure_topics(servers, outputs)
            echo(f"recreated empty: {', '.join(t.name for t in outputs)}")


async def _delete_topics(admin: AIOKafkaAdminClient, topics: list[str]) -> None:
    """Delete and wait until the broker no longer lists them (deletion is asynchronous)."""
    if not topics:
        return
    await admin.delete_topics(topics)
    for _ in range(int(DELETION_WAIT_S / 0.5)):
        if not set(topics) & set(await admin.list_topics()):
            return
        await asyncio.sleep(0.5)
    raise UnsafeOperation(f"the broker still lists {topics} after {DELETION_WAIT_S:.0f} s")
