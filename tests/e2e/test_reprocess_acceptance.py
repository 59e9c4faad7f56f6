"""Issue #9, "Replay": drop the worker's state and the sinks' stores, run `chatsync reprocess`,
and the API returns exactly what it returned before.

The whole system runs as processes (`chatsync api`, `chatsync worker`, `chatsync sinks`) on
fresh topics and a fresh messages table. The stream is mixed: the demo feed posted through the
real webhook by `chatsync demo` (three owners, Business messages with media, albums, replies,
forwards, edits, deletes, a disconnected owner) and a Telegram Desktop export imported twice by
`chatsync import-export` for one of those owners: as a chat of its own, and as the history of a
chat the Business bot sees too (one deal fed by both raw topics, which a rebuild may interleave
differently). Once the sinks caught up, the API's view of each owner (every page of the deal
list, each deal, every page of its messages) is kept. Then: the worker and the sinks are
stopped, the stores emptied (PostgreSQL deals, customers and the messages-stored bookkeeping;
the DynamoDB table deleted and created again; API tokens stay), `chatsync reprocess --yes`
resets the worker (group, internal topics, RocksDB directory), with `--truncate-outputs`
recreating the normalised topics empty or without it appending to them, and the worker and the
sinks start again. When they caught up, the API's view is the same JSON: ids, order, pages,
cursors, texts, edits, deletions and every timestamp.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from chatsync.events import MessageCreated
from chatsync.identity import deal_id
from chatsync.infra.aws import dynamodb_client
from chatsync.infra.stack.provision import provision
from chatsync.infra.stack.stack import Stack
from chatsync.producers.demo.scenario import demo_updates
from tests.e2e.deployment import Deployment, oldest_first, open_deployment, personal_chat_export
from tests.integration.test_replay_worker import _group_empty
from tests.integration.test_sinks_harness import SinkRun, demo_events

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]
# What the sinks derive (PostgreSQL); api_tokens and sync_tasks are not derived and stay.
DERIVED_TABLES = ("deals", "customers", "deal_messages_stored")
EXPORT_MESSAGES = 17  # the fixture's 18 messages, less a service action MTProto does not have


@pytest.fixture
async def deployment(local_stack: Stack) -> AsyncIterator[Deployment]:
    async with open_deployment(local_stack.settings, "reprocess") as running:
        yield running


def _owners(seed: int) -> list[int]:
    """The owners of the demo feed `chatsync demo --seed <seed>` posts (its default shape)."""
    return sorted({u["business_connection"]["user"]["id"]
                   for u in demo_updates(seed=seed) if "business_connection" in u})  # fmt: skip


def _expected_demo_deals(seed: int) -> set[str]:
    """The deals the reference normaliser derives from that feed (deals with a message)."""
    return {e.deal_id for e in demo_events(seed) if isinstance(e, MessageCreated)}


def _a_business_chat(seed: int, owner: int) -> int:
    """A customer's chat that the owner's Business connection delivers in that feed."""
    feed = demo_updates(seed=seed)
    connections = [u["business_connection"] for u in feed if "business_connection" in u]
    [connection] = {c["id"] for c in connections if c["user"]["id"] == owner}
    chats = [u["business_message"]["chat"]["id"] for u in feed if "business_message" in u
             and u["business_message"]["business_connection_id"] == connection]  # fmt: skip
    return int(chats[0])


async def _feed(deployment: Deployment, seed: int, exports: list[Path], owner: int) -> None:
    posted = await deployment.chatsync("demo", "--rate", "0", "--seed", str(seed))
    assert posted.returncode == 0, posted.stdout
    assert f"posted {len(demo_updates(seed=seed))} updates" in posted.stdout, posted.stdout
    assert "rejected: {}" in posted.stdout, posted.stdout
    for export in exports:
        imported = await deployment.chatsync(
            "import-export", str(export), "--owner-user-id", str(owner)
        )
        assert imported.returncode == 0, imported.stdout
        assert f"published {EXPORT_MESSAGES} records; 0 skipped" in imported.stdout


async def _views(deployment: Deployment, tokens: dict[int, str]) -> dict[int, dict[str, Any]]:
    return {owner: await deployment.api_view(token) for owner, token in tokens.items()}


def _messages(views: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    return [message for view in views.values() for pages in view["message_pages"].values()
            for message in oldest_first(pages)]  # fmt: skip


def _check_the_view_is_complete(
    views: dict[int, dict[str, Any]], expected_deals: set[str], imported: dict[str, str]
) -> None:
    """The first view is worth comparing: every deal, and every kind of message, is in it;
    ``imported`` maps the deals the exports went into to the source each must show."""
    listed = [deal["id"] for view in views.values() for page in view["deal_pages"]
              for deal in page["results"]]  # fmt: skip
    assert sorted(listed) == sorted(expected_deals), "each derived deal listed once"
    assert any(len(view["deal_pages"]) > 1 for view in views.values()), "lists read over pages"
    messages = _messages(views)
    kinds = {
        "edited with history": any(m["edits"] for m in messages),
        "deleted": any(m["is_deleted"] for m in messages),
        "media": any(m["media"] for m in messages),
        "reply": any(m["reply_to_message_id"] for m in messages),
        "forward": any(m["forward"] for m in messages),
        "outgoing": any(m["direction"] == "out" for m in messages),
    }
    assert all(kinds.values()), kinds
    for deal, source in imported.items():
        view = next(v for v in views.values() if deal in v["message_pages"])
        assert view["details"][deal]["source"] == source
        ids = [m["id"] for m in oldest_first(view["message_pages"][deal])]
        assert ids == sorted(ids), "oldest first"
        assert {101, 118} <= set(ids), "the export's history is in the deal"
        assert len(ids) == EXPORT_MESSAGES or source == "botapi", "the bot's messages too"


async def _drop_derived_state(deployment: Deployment) -> None:
    """Stop the worker and the sinks, and empty what the sinks wrote."""
    for service in ("worker", "sinks"):
        await deployment.stop(service)
    servers = deployment.settings.kafka_bootstrap_servers
    for group in (deployment.settings.worker_app_id, *deployment.sink_groups):
        await _group_empty(servers, group)
    async with deployment.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {', '.join(DERIVED_TABLES)}"))
    async with dynamodb_client(deployment.settings) as client:
        table = deployment.settings.dynamodb_messages_table
        await client.delete_table(TableName=table)
        await client.get_waiter("table_not_exists").wait(TableName=table)
    await provision(deployment.settings)  # what `chatsync infra up` does: the table again


async def _sink_offsets_on_outputs(deployment: Deployment) -> dict[tuple[str, int], int]:
    """The sinks' committed offsets on the normalised topics (read from Kafka)."""
    sinks = SinkRun(deployment.settings, deployment.engine)
    found: dict[tuple[str, int], int] = {}
    for group, topics in deployment.sink_groups.items():
        committed = await sinks.committed(group) or {}
        found |= {tp: offset for tp, offset in committed.items() if tp[0] in topics}
    return found


def _differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Where two JSON values differ: ``path: before != after`` for each leaf that does."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(set(before) | set(after), key=str)
        return [d for k in keys
                for d in _differences(before.get(k), after.get(k), f"{path}/{k}")]  # fmt: skip
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [d for i, (b, a) in enumerate(zip(before, after, strict=True))
                for d in _differences(b, a, f"{path}/{i}")]  # fmt: skip
    return [] if before == after else [f"{path}: {before!r} != {after!r}"]


@pytest.mark.parametrize(
    "reset_options", [["--truncate-outputs"], []], ids=["truncate-outputs", "keep-outputs"]
)
async def test_reprocess_rebuilds_exactly_what_the_api_returned(
    deployment: Deployment, reset_options: list[str], tmp_path: Path
) -> None:
    seed = random.randrange(10**9)
    owners = _owners(seed)
    owner, own_chat = owners[0], random.randrange(10**10, 2 * 10**10)
    shared_chat = _a_business_chat(seed, owner)
    tokens = {each: await deployment.token(each) for each in owners}
    await deployment.start_api()
    deployment.start("worker")
    deployment.start("sinks")
    folders = [tmp_path / "own", tmp_path / "shared"]
    for folder in folders:
        folder.mkdir()
    exports = [personal_chat_export(folders[0], owner, own_chat),
               personal_chat_export(folders[1], owner, shared_chat)]  # fmt: skip
    await _feed(deployment, seed, exports, owner)
    await deployment.caught_up()
    before = await _views(deployment, tokens)
    imported = {deal_id(owner, own_chat): "mtproto", deal_id(owner, shared_chat): "botapi"}
    _check_the_view_is_complete(before, _expected_demo_deals(seed) | set(imported), imported)

    state_dir = deployment.settings.var_dir / "worker" / deployment.settings.worker_app_id
    assert state_dir.is_dir(), "the worker keeps its tables in RocksDB there"
    await _drop_derived_state(deployment)
    emptied = await _views(deployment, tokens)
    assert all(view["deal_pages"][0]["results"] == [] for view in emptied.values())

    reset = await deployment.chatsync("reprocess", *reset_options, "--yes")
    assert reset.returncode == 0, reset.stdout
    truncated = "recreated empty" if reset_options else "normalised topics kept"
    assert truncated in reset.stdout, reset.stdout
    assert not state_dir.exists()
    kept = await _sink_offsets_on_outputs(deployment)
    assert bool(kept) == (not reset_options), "truncated topics take the sinks' offsets along"
    deployment.start("worker")
    deployment.start("sinks")
    await deployment.caught_up()
    after = await _views(deployment, tokens)
    assert after == before, _differences(before, after)[:20]
