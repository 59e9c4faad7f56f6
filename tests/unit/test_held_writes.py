"""HeldWrites: the batch overlay the agents normalise through (pure, over MemoryState)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chatsync.normalise.inputs import CustomerInput, DealInput
from chatsync.normalise.pipeline import (
    MemoryNormaliser,
    MemoryState,
    NormalisedEvent,
    Normaliser,
    StageEvents,
)
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo.scenario import demo_updates
from chatsync.tables.held import HeldWrites

TOPIC = "tg.raw.botapi"


def _raw_records() -> list[bytes]:
    return [botapi_envelope(u, describe_update(u), 42).to_bytes() for u in demo_updates()]


def _apply(applied: list[str]) -> Callable[[object, Callable[[], None]], None]:
    def apply(tag: object, write: Callable[[], None]) -> None:
        applied.append(str(tag))
        write()

    return apply


def _batched(records: list[bytes], batch_size: int) -> tuple[list[NormalisedEvent], MemoryState]:
    """The three stages as the worker runs them: each stage over batches of its inputs, every
    record's writes held and readable, flushed to the base state at the end of each batch."""
    base = MemoryState()
    held = HeldWrites(base)
    normaliser = Normaliser(held)
    deal_inputs: list[DealInput] = []
    customer_inputs: list[CustomerInput] = []
    events: list[NormalisedEvent] = []
    for start in range(0, len(records), batch_size):
        for offset in range(start, min(start + batch_size, len(records))):
            held.tag = offset
            staged = normaliser.stage_one(records[offset], TOPIC, 0, offset)
            staged.commit()
            deal_inputs.extend(staged.deals)
            customer_inputs.extend(staged.customers)
        held.flush(lambda _, write: write())
    stages: list[tuple[list[Any], Callable[[Any, int], StageEvents]]] = [
        (deal_inputs, normaliser.stage_two),
        (customer_inputs, lambda inp, _: normaliser.stage_three(inp)),
    ]
    for inputs, stage in stages:
        for start in range(0, len(inputs), batch_size):
            for position in range(start, min(start + batch_size, len(inputs))):
                step = stage(inputs[position], position + 1)  # as MemoryNormaliser counts
                step.commit()
                events.extend(step.events)
            held.flush(lambda _, write: write())
    return events, base


def test_batches_of_any_size_produce_the_reference_events_and_state() -> None:
    records = _raw_records()
    reference = MemoryNormaliser()
    expected = [e for i, r in enumerate(records) for e in reference.process(r, TOPIC, 0, i)]
    expected_ids = sorted(e.event_id for e in expected)
    assert len(expected_ids) > 50, "the demo feed is a real stream"
    for batch_size in (1, 7, 500):
        events, state = _batched(records, batch_size)
        assert sorted(e.event_id for e in events) == expected_ids, batch_size
        assert state == reference.memory, batch_size


def test_held_writes_are_read_back_before_they_reach_the_base_state() -> None:
    first = _raw_records()[0]
    reference = MemoryNormaliser()
    reference.process(first, TOPIC, 0, 0)
    assert len(reference.memory.connections) == 1, "the feed opens with a business connection"
    (connection_id,) = reference.memory.connections
    base = MemoryState()
    held = HeldWrites(base)
    Normaliser(held).stage_one(first, TOPIC, 0, 0).commit()
    assert held.connection(connection_id) == reference.memory.connections[connection_id]
    assert base.connections == {}, "nothing reaches the base state before the flush"
    held.flush(lambda _, write: write())
    assert base.connections == reference.memory.connections


def test_a_key_written_twice_in_a_batch_is_applied_once_with_its_last_value_and_writer() -> None:
    reference = MemoryNormaliser()
    for offset, record in enumerate(_raw_records()):
        reference.process(record, TOPIC, 0, offset)
    deal = next(iter(reference.deals.values()))
    base = MemoryState()
    held = HeldWrites(base)
    first = deal.model_copy(update={"version": 100})
    second = deal.model_copy(update={"version": 101})
    held.tag = "record-1"
    held.set_deal(first)
    held.tag = "record-2"
    held.set_deal(second)
    assert held.deal(deal.deal_id) == second
    applied: list[str] = []
    held.flush(_apply(applied))
    assert applied == ["record-2"]
    assert base.deals == {deal.deal_id: second}
    assert len(held) == 0
