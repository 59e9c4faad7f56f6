"""The real worker on the real broker: the reference's events, once each, even after kill -9."""

from __future__ import annotations

import asyncio
import copy
import json
import shutil
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.structs import TopicPartition
from telethon.tl import types

from chatsync.agents.app import create_worker_app, worker_state_dir
from chatsync.agents.internal_topics import declare_internal_topics, internal_topics
from chatsync.envelopes import RawEnvelope
from chatsync.infra.stack.stack import Stack
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo import shapes
from chatsync.producers.demo.scenario import demo_updates, stream_updates
from chatsync.producers.telethon.events import Scope, message_envelope
from tests.integration.worker_harness import TopicFactory, WorkerRun, new_run
from tests.kafka_helpers import policies_and_partitions, read_topic

pytestmark = pytest.mark.integration


@pytest.fixture
async def run(local_stack: Stack, topic_factory: TopicFactory) -> AsyncIterator[WorkerRun]:
    worker_run = await new_run(local_stack, topic_factory)
    yield worker_run
    worker_run.stop_all()


def _botapi(run: WorkerRun, update: dict[str, Any]) -> tuple[str, bytes, bytes]:
    envelope = botapi_envelope(update, describe_update(update), shapes.BOT_ID)
    return run.settings.topic_raw_botapi, envelope.partition_key(), envelope.to_bytes()


def _mtproto(run: WorkerRun, envelope: RawEnvelope | None) -> tuple[str, bytes, bytes]:
    assert envelope is not None
    return run.settings.topic_raw_mtproto, envelope.partition_key(), envelope.to_bytes()


def _mixed_stream(run: WorkerRun) -> list[tuple[str, bytes, bytes]]:
    """The demo feed with redeliveries, an edit overtaken by a newer one, an edit and a delete of
    messages never seen, and a record that is not an envelope at all."""
    updates = demo_updates()
    records = []
    for index, update in enumerate(updates):
        records.append(_botapi(run, update))
        if index % 7 == 0:
            records.append(_botapi(run, copy.deepcopy(update)))  # redelivery
    stale = next(u for u in updates if "edited_business_message" in u)
    older = copy.deepcopy(stale)
    older["update_id"] += 10_000
    older["edited_business_message"]["edit_date"] -= 30
    older["edited_business_message"]["text"] = "an older version, arriving late"
    unknown_edit = shapes.edited_business_message()
    unknown_edit["edited_business_message"]["message_id"] = 999_999
    unknown_delete = shapes.deleted_business_messages()
    unknown_delete["deleted_business_messages"]["message_ids"] = [999_998]
    records += [_botapi(run, older), _botapi(run, unknown_edit), _botapi(run, unknown_delete)]
    records.append((run.settings.topic_raw_botapi, b"bc:garbage", b"{not an envelope"))
    return records


async def test_a_mixed_stream_yields_the_reference_events_each_once(run: WorkerRun) -> None:
    records = _mixed_stream(run)
    await run.produce(records)
    run.start()
    await run.drained()
    bad = records[-1]
    run.sent.remove(bad)  # the reference would raise on it: it goes to the DLQ instead
    expected = [event.event_id for event in run.reference()]
    published = await run.output_events()
    counts = Counter(event["event_id"] for event in published)
    assert set(counts) == set(expected)
    assert set(counts.values()) == {1}, "no event twice without a crash"
    by_deal: dict[str, list[str]] = {}
    for event in published:
        if event["event_type"].startswith("message."):
            by_deal.setdefault(event["deal_id"], []).append(event["event_id"])
    for deal, ids in by_deal.items():
        assert ids == [e for e in expected if e in set(ids)], f"deal {deal} out of order"
    [dead] = await read_topic(
        run.settings.kafka_bootstrap_servers, run.settings.topic_dlq, at_least=1
    )
    assert dead.value == bad[2]
    headers = {key: value.decode() for key, value in dead.headers}
    assert headers["dlq.stage"] == "normalise"
    assert headers["dlq.source.topic"] == run.settings.topic_raw_botapi


async def test_both_producers_feeding_one_chat_make_one_deal(run: WorkerRun) -> None:
    connection, text = shapes.business_connection(), shapes.text()
    await run.produce([_botapi(run, connection), _botapi(run, text)])
    run.start()
    await run.drained()
    message = text["business_message"]
    same = types.Message(
        id=message["message_id"],
        peer_id=types.PeerUser(shapes.CUSTOMER_ID),
        date=datetime.fromtimestamp(message["date"], UTC),
        message=message["text"],
        from_id=types.PeerUser(shapes.CUSTOMER_ID),
    )
    newer = types.Message(
        id=message["message_id"] + 1,
        peer_id=types.PeerUser(shapes.CUSTOMER_ID),
        date=datetime.fromtimestamp(message["date"] + 60, UTC),
        message="only Telethon saw this",
        out=True,
        from_id=types.PeerUser(shapes.OWNER_ID),
    )
    scope = Scope(shapes.OWNER_ID)
    await run.produce(
        [
            _mtproto(run, message_envelope(same, scope)),
            _mtproto(run, message_envelope(newer, scope, source="backfill")),
        ]
    )
    await run.drained()
    events = await run.output_events()
    created = [e for e in events if e["event_type"] == "message.created"]
    assert [(e["data"]["message_id"], e["source"]["kind"]) for e in created] == [
        (message["message_id"], "botapi"),
        (message["message_id"] + 1, "backfill"),
    ]
    assert len({e["deal_id"] for e in events if e["event_type"].startswith("deal.")}) == 1


@pytest.mark.parametrize("state", ["kept", "lost"])
async def test_kill_9_mid_stream_loses_nothing_and_reemits_with_the_same_ids(
    run: WorkerRun, state: str
) -> None:
    """Restarted with its RocksDB tables ("kept") or on a host without them ("lost": every table
    is restored from its changelog before the worker consumes, the path where Faust used to resume
    the stream partitions before seeking them and left offsets never committed, see
    chatsync.agents.recovery)."""
    records = [
        _botapi(run, update) for update in stream_updates(3000, owners=6, customers_per_owner=8)
    ]
    await run.produce(records)
    first = run.start()
    servers = run.settings.kafka_bootstrap_servers
    for _ in range(120):  # let it get going, then pull the plug mid-stream
        if len(await read_topic(servers, run.settings.topic_messages, timeout_ms=500)) > 300:
            break
        await asyncio.sleep(0.5)
    run.kill(first)
    if state == "lost":
        shutil.rmtree(worker_state_dir(run.settings))
    run.start(LOG_LEVEL="INFO")
    await run.drained(timeout_s=240)
    if state == "lost":
        assert "Restoring state from changelog topics" in run.log_path.read_text()
    await _published_once_in_effect(run)


async def test_a_second_worker_takes_over_part_of_a_stream_and_each_event_comes_once(
    run: WorkerRun, tmp_path: Path
) -> None:
    """Scaling out: a second worker of the same app, started with its own state directory,
    takes over part of the partitions, their tables restored from the changelogs. The second half
    of the stream (the same conversations) is processed by both; the outputs are still the
    reference's events, each once in effect, with the same ids."""
    records = [
        _botapi(run, update) for update in stream_updates(3000, owners=6, customers_per_owner=8)
    ]
    half = len(records) // 2
    await run.produce(records[:half])
    run.start(WORKER_STATE_DIR=str(tmp_path / "first"))
    await run.drained(timeout_s=240)
    run.start(WORKER_STATE_DIR=str(tmp_path / "second"))
    assignments = await _until_assigned_to(run, members=2)
    raw = run.settings.topic_raw_botapi
    assert all(any(tp.topic == raw for tp in tps) for tps in assignments), assignments
    await run.produce(records[half:])
    await run.drained(timeout_s=240)
    published, expected = await _published_once_in_effect(run)
    assert len(published) == len(expected), "without a crash, nothing is published twice"


async def _until_assigned_to(run: WorkerRun, members: int) -> list[list[TopicPartition]]:
    """The partitions of each member once the worker's group is stable with ``members``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=run.settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        for _ in range(240):
            [response] = await admin.describe_consumer_groups([run.settings.worker_app_id])
            [group] = response.to_object()["groups"]
            if group["state"] == "Stable" and len(group["members"]) == members:
                return [
                    ConsumerProtocolMemberAssignment.decode(m["member_assignment"]).partitions()
                    for m in group["members"]
                ]
            await asyncio.sleep(0.5)
    finally:
        await admin.close()
    raise AssertionError(f"the group did not become stable with {members} members")


async def _published_once_in_effect(
    run: WorkerRun,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Assert that the outputs hold exactly the reference's event ids, a re-emitted event being
    the same event; the published events and the reference's (by id)."""
    expected = {event.event_id: event for event in run.reference()}
    published = await run.output_events()
    assert {event["event_id"] for event in published} == set(expected), _mismatch(
        run, published, expected
    )
    for event in published:
        assert event["event_type"] == expected[event["event_id"]].event_type
    return published, expected


def _mismatch(run: WorkerRun, published: list[dict[str, Any]], expected: dict[str, Any]) -> str:
    """Which events are missing or extra, by type (the full lists are written beside the
    worker's log)."""
    ids = {event["event_id"] for event in published}
    extra = [event for event in published if event["event_id"] not in expected]
    missing = [event.model_dump(mode="json") for i, event in expected.items() if i not in ids]
    report = run.log_path.with_suffix(".mismatch.json")
    report.write_text(json.dumps({"extra": extra, "missing": missing}, indent=1))
    return (
        f"every event exactly once in effect: extra {Counter(e['event_type'] for e in extra)}, "
        f"missing {Counter(e['event_type'] for e in missing)} (see {report})"
    )


async def test_the_internal_topics_exist_and_are_led_before_the_worker_consumes(
    run: WorkerRun,
) -> None:
    """A fresh deployment's worker must not subscribe before its repartition topics exist: the
    first assignment would leave them out for minutes (see chatsync.agents.internal_topics)."""
    app = create_worker_app(run.settings)
    expected = {t.name: t for t in internal_topics(app, run.settings)}
    assert {f"{run.settings.worker_app_id}-deal-inputs",
            f"{run.settings.worker_app_id}-customer-inputs"} < set(expected)  # fmt: skip
    assert sorted(await declare_internal_topics(app, run.settings)) == sorted(expected)
    found = await policies_and_partitions(run.settings.kafka_bootstrap_servers, list(expected))
    assert found == {name: (spec.cleanup_policy, run.settings.kafka_topic_partitions)
                     for name, spec in expected.items()}  # fmt: skip
    assert await declare_internal_topics(app, run.settings) == [], "idempotent"
