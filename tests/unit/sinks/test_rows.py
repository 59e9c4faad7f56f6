"""Deal and customer rows: the list's order column, JSON of the last message, owned columns."""

from __future__ import annotations

from chatsync.infra.sinks.rows import (
    CUSTOMER_COLUMNS,
    DEAL_COLUMNS,
    customer_row,
    deal_row,
    postgres_safe,
)
from tests.unit.sinks.factories import at, customer_event, deal_event, message_data


def test_activity_at_is_the_last_message_date() -> None:
    last = message_data(7, 100, "hi")
    row = deal_row(deal_event(3, last=last))
    assert row["activity_at"] == last.date == row["last_message_at"]
    assert row["last_message"]["text"] == "hi"
    assert row["last_message"]["date"] == last.date.isoformat().replace("+00:00", "Z")


def test_activity_at_falls_back_to_updated_at_without_a_message() -> None:
    row = deal_row(deal_event(2))
    assert row["last_message"] is None
    assert row["activity_at"] == at(2) == row["updated_at"]


def test_rows_have_exactly_the_declared_columns() -> None:
    assert tuple(deal_row(deal_event(1))) == DEAL_COLUMNS
    assert tuple(customer_row(customer_event(1))) == CUSTOMER_COLUMNS


def test_the_customer_row_never_touches_the_avatar_columns() -> None:
    assert not {"avatar_key", "avatar_checked_at", "stored_at"} & set(CUSTOMER_COLUMNS)
    assert customer_row(customer_event(4, first_name="Zoë"))["first_name"] == "Zoë"


def test_nul_becomes_the_replacement_character_in_every_string_of_a_row() -> None:
    row = deal_row(deal_event(1, last=message_data(1, 1, "a\x00b")))
    assert row["last_message"]["text"] == "a\ufffdb"
    assert customer_row(customer_event(1, first_name="\x00"))["first_name"] == "\ufffd"
    nested = {"json": {"list": ["x\x00", 1, None]}, "n": 2}
    assert postgres_safe(nested) == {"json": {"list": ["x\ufffd", 1, None]}, "n": 2}
