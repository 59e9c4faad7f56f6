"""The whole demo feed through the pure pipeline: each thing once, deterministic, no duplicates."""

from __future__ import annotations

from collections import Counter
from typing import Any

from chatsync.events import MessageCreated
from chatsync.normalise.pipeline import MemoryNormaliser
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo.scenario import demo_updates


def _records(updates: list[dict[str, Any]]) -> list[bytes]:
    return [botapi_envelope(u, describe_update(u), 1).to_bytes() for u in updates]


def _run(records: list[bytes]) -> list[Any]:
    normaliser = MemoryNormaliser()
    events: list[Any] = []
    for offset, record in enumerate(records):
        events.extend(normaliser.process(record, "tg.raw.botapi", 0, offset))
    return events


def _ids(events: list[Any]) -> list[str]:
    return [event.event_id for event in events]


def test_every_message_is_created_once_and_event_ids_are_unique() -> None:
    updates = demo_updates()
    events = _run(_records(updates))
    created = Counter(
        (e.deal_id, e.data.message_id) for e in events if isinstance(e, MessageCreated)
    )
    sent = [u["business_message"] for u in updates if "business_message" in u]
    assert len(created) == len(sent)
    assert set(created.values()) == {1}
    assert len(set(_ids(events))) == len(events)
    types = Counter(e.event_type for e in events)
    assert types["deal.created"] == len(
        {e.deal_id for e in events if e.event_type.startswith("deal")}
    )
    assert types["message.edited"] > 0
    assert types["message.deleted"] > 0


def test_a_replay_emits_the_same_events_with_the_same_ids() -> None:
    records = _records(demo_updates())
    assert _ids(_run(records)) == _ids(_run(records))


def test_every_record_delivered_twice_changes_nothing() -> None:
    records = _records(demo_updates())
    twice = [record for record in records for _ in range(2)]
    once_events = _run(records)
    twice_events = _run(twice)
    assert _ids(twice_events) == _ids(once_events)
