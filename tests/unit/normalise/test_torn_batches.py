"""Stage 2 after a crash that left only part of a batch's table writes behind (pure).

A worker writes a batch's tables after its events are out, one changelog record per key; killed
in the middle, it may leave the deal's record without the message versions' or the other way
round. The batch is then processed again from its first input (its offsets were never committed)
over that torn state: the events must still be the reference's, once each in effect, and the
state must end as the reference's.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chatsync.normalise.deals import DealState
from chatsync.normalise.inputs import DealInput
from chatsync.normalise.pipeline import MemoryNormaliser, MemoryState, NormalisedEvent, Normaliser
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo.scenario import stream_updates
from chatsync.tables.held import HeldWrites, Write

TOPIC = "tg.raw.botapi"
BATCH = 25


def _records() -> list[bytes]:
    updates = stream_updates(400, owners=2, customers_per_owner=3)
    return [botapi_envelope(u, describe_update(u), 42).to_bytes() for u in updates]


def _deal_inputs(records: list[bytes]) -> list[DealInput]:
    stage_one = Normaliser(MemoryState())
    inputs: list[DealInput] = []
    for offset, record in enumerate(records):
        staged = stage_one.stage_one(record, TOPIC, 0, offset)
        staged.commit()
        inputs.extend(staged.deals)
    return inputs


def _run_with_a_crash(
    inputs: list[DealInput], crash_batch: int, lands: Callable[[str], bool]
) -> tuple[list[NormalisedEvent], MemoryState]:
    """Stage 2 in batches with the inputs' indexes as positions; the writes of batch
    ``crash_batch`` land only where ``lands(write)`` (a NormaliserState method name) says so,
    then that batch is processed again. Returns every event published, and the final state."""
    base = MemoryState()
    held = HeldWrites(base)
    normaliser = Normaliser(held)
    published: list[NormalisedEvent] = []
    start, crashed = 0, False
    while start < len(inputs):
        for position in range(start, min(start + BATCH, len(inputs))):
            staged = normaliser.stage_two(inputs[position], position)
            staged.commit()
            published.extend(staged.events)  # sent and acknowledged before the flush
        torn = not crashed and start == crash_batch * BATCH

        def apply(_: object, write: Write, torn: bool = torn) -> None:
            if not torn or lands(getattr(write, "func").__name__):  # noqa: B009
                write()

        held.flush(apply)
        if torn:
            crashed = True
            continue  # restarted: the batch's offsets were never committed
        start += BATCH
    return published, base


def _unpositioned(deals: dict[str, DealState]) -> dict[str, DealState]:
    return {
        deal_id: deal.model_copy(update={"input_position": None, "created_position": None})
        for deal_id, deal in deals.items()
    }


@pytest.mark.parametrize(
    "lands",
    [
        pytest.param(lambda name: name == "set_version", id="only-the-versions"),
        pytest.param(lambda name: name == "set_deal", id="only-the-deals"),
        pytest.param(lambda name: False, id="nothing"),
    ],
)
@pytest.mark.parametrize("crash_batch", [0, 1, 3, 6])
def test_a_batch_processed_again_over_its_torn_writes_yields_the_reference(
    lands: Callable[[str], bool], crash_batch: int
) -> None:
    records = _records()
    inputs = _deal_inputs(records)
    assert len(inputs) > (crash_batch + 1) * BATCH
    reference = MemoryNormaliser()
    expected = [
        event
        for offset, record in enumerate(records)
        for event in reference.process(record, TOPIC, 0, offset)
        if not event.event_type.startswith("customer.")
    ]
    published, state = _run_with_a_crash(inputs, crash_batch, lands)
    by_id = {event.event_id: event for event in expected}
    assert {event.event_id for event in published} == set(by_id)
    for event in published:  # a re-emitted event is the same event
        assert event == by_id[event.event_id]
    assert _unpositioned(state.deals) == _unpositioned(reference.memory.deals)
    assert state.versions.keys() == reference.memory.versions.keys()


def test_writes_from_before_positions_were_kept_still_count() -> None:
    """Tables written by an older worker carry no positions: their versions and deals are
    trusted as they are, so an input seen then is not applied twice."""
    inputs = _deal_inputs(_records())
    old = MemoryState()
    first = Normaliser(old).stage_two(inputs[0], 0)
    first.commit()
    for deal_id, deal in list(old.deals.items()):
        old.deals[deal_id] = deal.model_copy(update={"input_position": None,
                                                     "created_position": None})  # fmt: skip
    for key, version in list(old.versions.items()):
        old.versions[key] = version.model_copy(update={"input_position": None})
    again = Normaliser(old).stage_two(inputs[0], 7)
    assert first.events, "the first input creates a deal"
    assert again.events == []


def test_an_input_from_before_the_deal_existed_is_processed_again_as_it_was() -> None:
    """A disabled connection's message created nothing (no deal yet); a later input created
    the deal. Processed again after a tear, that message still creates nothing."""
    inputs = _deal_inputs(_records())
    first = next(i for i in inputs if i.kind == "message")
    later = next(
        i for i in inputs[inputs.index(first) + 1 :]
        if i.deal_id == first.deal_id and i.kind == "message" and i.message != first.message
    )  # fmt: skip
    state = MemoryState()
    normaliser = Normaliser(state)
    disabled = first.model_copy(update={"connection_enabled": False})
    assert normaliser.stage_two(disabled, 3).events == [], "no deal: a disabled connection waits"
    normaliser.stage_two(later, 5).commit()
    assert state.deals[first.deal_id].created_position == 5
    again = normaliser.stage_two(disabled, 3)
    assert again.events == []
    assert again.writes == []
