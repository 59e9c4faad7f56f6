"""One chat seen through two producers: the deal must not depend on which one the worker meets
first.

The owner's Business bot (``tg.raw.botapi``) and the owner's Telethon account or a Telegram
Desktop import (``tg.raw.mtproto``) feed one deal. Each raw topic keeps its own order, but the
worker reads the two side by side, so a rebuild (`chatsync reprocess`, a replay to a fresh group)
may interleave them differently than the first run did. Every interleaving must derive the same
deal (its source and connection, when it was created, its unread messages, its last message)
and the same customer (each profile field as the newest observation that says it).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from telethon.tl import types

from chatsync.identity import deal_id
from chatsync.normalise.pipeline import MemoryNormaliser
from chatsync.producers.botapi.updates import botapi_envelope, describe_update
from chatsync.producers.demo import shapes
from chatsync.producers.telethon.events import Scope, message_envelope

Record = tuple[str, bytes]  # (topic, value)
DEAL = deal_id(shapes.OWNER_ID, shapes.CUSTOMER_ID)
DAY = 86_400


def _business(message_id: int, at: int, *, incoming: bool = True) -> Record:
    update = shapes.text() if incoming else shapes.sent_by_owner()
    update["update_id"] = 7000 + message_id
    update["business_message"].update(message_id=message_id, date=shapes.BASE_DATE + at,
                                      text=f"business {message_id}")  # fmt: skip
    return "tg.raw.botapi", _botapi(update)


def _botapi(update: dict[str, Any]) -> bytes:
    return botapi_envelope(update, describe_update(update), shapes.BOT_ID).to_bytes()


def _account(
    message_id: int, at: int, *, incoming: bool = True, text: str = "", name: str | None = None
) -> Record:
    """The owner's account sees the same chat (history, newest first, as backfill sends it);
    with ``name``, Telethon has the customer cached under that first name and nothing else."""
    sender = shapes.CUSTOMER_ID if incoming else shapes.OWNER_ID
    message = types.Message(
        id=message_id, peer_id=types.PeerUser(shapes.CUSTOMER_ID), out=not incoming,
        date=datetime.fromtimestamp(shapes.BASE_DATE + at, UTC),
        message=text or f"history {message_id}", from_id=types.PeerUser(sender),
    )  # fmt: skip
    if name is not None:
        message._chat = types.User(id=shapes.CUSTOMER_ID, first_name=name)
    envelope = message_envelope(message, Scope(shapes.OWNER_ID), source="backfill")
    assert envelope is not None
    return "tg.raw.mtproto", envelope.to_bytes()


BUSINESS = [
    ("tg.raw.botapi", _botapi(shapes.business_connection())),
    _business(100, 0),
    _business(101, 60),
    _business(102, 120, incoming=False),
    _business(103, 180),
]
ACCOUNT = [  # newest first; 101 is the live Business message again
    _account(104, 240, name="Аня"),
    _account(101, 60, text="business 101"),
    _account(42, -DAY + 600),
    _account(41, -DAY + 300, incoming=False),
    _account(40, -DAY),
]


def _interleavings(count: int) -> list[list[Record]]:
    """Both topics one after the other, either way, and ``count`` random interleavings; each
    keeps the order of its own topic."""
    rng = random.Random(9)
    orders = [BUSINESS + ACCOUNT, ACCOUNT + BUSINESS]
    for _ in range(count):
        picks = [0] * len(BUSINESS) + [1] * len(ACCOUNT)
        rng.shuffle(picks)
        queues = [list(BUSINESS), list(ACCOUNT)]
        orders.append([queues[pick].pop(0) for pick in picks])
    return orders


def _derived(records: list[Record]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The deal and the customer the pipeline derives (without their change counters)."""
    normaliser = MemoryNormaliser()
    for offset, (topic, value) in enumerate(records):
        normaliser.process(value, topic, 0, offset)
    deal = normaliser.deals[DEAL].data().model_dump(exclude={"version"})
    customer = normaliser.memory.customers[shapes.CUSTOMER_ID].profile.model_dump()
    return deal, customer


@pytest.mark.parametrize("order", range(2 + 20))
def test_nothing_depends_on_which_topic_came_first(order: int) -> None:
    assert _derived(_interleavings(20)[order]) == _derived(BUSINESS + ACCOUNT)


def test_the_deal_is_what_both_sources_say_together() -> None:
    deal, _ = _derived(ACCOUNT + BUSINESS)
    assert (deal["source"], deal["business_connection_id"]) == ("botapi", shapes.CONNECTION_ID)
    assert deal["created_at"] == datetime.fromtimestamp(shapes.BASE_DATE - DAY, UTC)
    assert deal["updated_at"] == datetime.fromtimestamp(shapes.BASE_DATE + 240, UTC)
    assert deal["message_count"] == 8  # 40, 41, 42, 100-103 (101 once) and 104
    assert deal["last_message"]["message_id"] == 104
    assert deal["unread_count"] == 2, "103 and 104 came after the owner's last message (102)"


def test_each_profile_field_is_the_newest_that_says_it() -> None:
    _, customer = _derived(ACCOUNT + BUSINESS)
    business = shapes.customer()
    assert customer["first_name"] == "Аня", "the account's observation is the newest"
    assert (customer["last_name"], customer["username"], customer["language_code"]) == (
        business["last_name"], business["username"], business["language_code"],
    ), "older observations still say what the newest one does not"  # fmt: skip
