"""Deal and customer rows: the list's order column, JSON of the last message, owned columns."""

from __future__ import annotations

from chatsync.infra.sinks.rows import CUSTOMER_COLUMNS, DEAL_COLUMNS, customer_row, deal_row
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
