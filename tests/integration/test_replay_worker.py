"""Replay and reprocess with the real worker: replays change nothing downstream, and a reset
worker derives the same events again."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from chatsync.infra.stack.stack import Stack
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo import shapes
from chatsync.producers.demo.scenario import demo_updates
from chatsync.replay.groups import group_state
from chatsync.replay.replay_run import ReplayRequest, replay
from tests.integration.test_replay_support import run_command, sample_records, start_command
from tests.integration.worker_harness import TopicFactory, WorkerRun, new_run
from tests.kafka_helpers import end_offsets

pytestmark = pytest.mark.integration
REPROCESS = "chatsync.replay.reprocess_cli.reprocess"
REPLAY = "chatsync.replay.replay_cli.replay_command"


@pytest.fixture
async def run(local_stack: Stack, topic_factory: TopicFactory) -> AsyncIterator[WorkerRun]:
    worker_run = await new_run(local_stack, topic_factory)
    yield worker_run
    worker_run.stop_all()


async def _processed(run: WorkerRun) -> Counter[str]:
    """Feed both raw topics, let the worker drain them; the event ids it published."""
    s = run.settings
    records = []
    for update in demo_updates():
        envelope = botapi_envelope(update, describe_update(update), shapes.BOT_ID)
        records.append((s.topic_raw_botapi, envelope.partition_key(), envelope.to_bytes()))
    for key, value, _, _ in sample_records(300):
        if value.startswith(b"{"):  # the binary ones would only go to the DLQ
            records.append((s.topic_raw_mtproto, key, value))
    await run.produce(records)
    run.start()
    await run.drained()
    return Counter(event["event_id"] for event in await run.output_events())


async def test_replaying_processed_raw_records_changes_nothing_downstream(run: WorkerRun) -> None:
    before = await _processed(run)
    assert before
    assert set(before.values()) == {1}
    s = run.settings
    for topic in (s.topic_raw_botapi, s.topic_raw_mtproto):
        request = ReplayRequest(topic, topic, allow_same_topic=True)
        assert await replay(s, request, f"{s.worker_app_id}-{topic}", dry_run=False)
    raw = await end_offsets(s.kafka_bootstrap_servers, s.topic_raw_mtproto)
    valid = [value for _, value, _, _ in sample_records(300) if value.startswith(b"{")]
    assert sum(raw.values()) == 2 * len(valid)
    await run.drained()
    after = Counter(event["event_id"] for event in await run.output_events())
    assert after == before  # no new event id, nothing emitted twice


async def test_a_fresh_worker_group_derives_the_same_events_again(run: WorkerRun) -> None:
    before = await _processed(run)
    replay_id = f"fresh-{run.settings.worker_app_id}"
    shown = run_command(REPLAY, ["--to-worker", "--id", replay_id, "--dry-run"], run.env)
    group = f"{run.settings.worker_app_id}-replay-{replay_id}"
    assert shown.returncode == 0, shown.stdout
    assert f"group {group} is new" in shown.stdout
    assert f"run: WORKER_APP_ID={group} chatsync worker" in shown.stdout
    refused = run_command(REPLAY, ["--to-worker", "--from-offset", "5"], run.env)
    assert refused.returncode == 1
    assert "earliest record" in refused.stdout

    fresh = WorkerRun(run.settings.model_copy(update={"worker_app_id": group}))
    fresh.processes.append(
        start_command(REPLAY, ["--to-worker", "--id", replay_id, "--launch"], run.env, group)
    )
    try:
        await fresh.drained()
        after = Counter(event["event_id"] for event in await run.output_events())
    finally:
        fresh.stop_all()
    assert set(after) == set(before)
    assert set(after.values()) == {2}  # each event once from each group, with the same id


async def test_reprocess_refuses_while_the_worker_runs_then_derives_the_same_events(
    run: WorkerRun,
) -> None:
    before = await _processed(run)
    s = run.settings
    refused = run_command(REPROCESS, ["--yes", "--truncate-outputs"], run.env)
    assert refused.returncode == 1, refused.stdout
    assert "is active" in refused.stdout
    assert before == Counter(e["event_id"] for e in await run.output_events())

    run.stop_all()
    await _group_empty(s.kafka_bootstrap_servers, s.worker_app_id)
    answered_no = run_command(REPROCESS, ["--truncate-outputs"], run.env, stdin="n\n")
    assert answered_no.returncode == 1
    assert "Aborted" in answered_no.stdout
    reset = run_command(REPROCESS, ["--yes", "--truncate-outputs"], run.env)
    assert reset.returncode == 0, reset.stdout
    assert not (s.var_dir / "worker" / s.worker_app_id).exists()
    admin = AIOKafkaAdminClient(bootstrap_servers=s.kafka_bootstrap_servers)
    await admin.start()
    try:
        left = [t for t in await admin.list_topics() if t.startswith(f"{s.worker_app_id}-")]
        groups = [g for g, *_ in await admin.list_consumer_groups()]
    finally:
        await admin.close()
    assert left == []
    assert s.worker_app_id not in groups
    assert await run.output_events() == []

    run.start()
    await run.drained()
    after = Counter(event["event_id"] for event in await run.output_events())
    assert after == before


async def _group_empty(servers: str, group: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        for _ in range(120):  # a stopped worker leaves its group at once; a killed one times out
            if not (await group_state(admin, group)).active:
                return
            await asyncio.sleep(0.5)
    finally:
        await admin.close()
    raise AssertionError(f"group {group} still active")
