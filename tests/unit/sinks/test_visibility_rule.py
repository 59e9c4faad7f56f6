"""The fully-synced rule over plain sets (the SQL twin is tested against PostgreSQL)."""

from __future__ import annotations

from chatsync.infra.sinks.visibility import visible_deals

DEALS = {"d-both": "c1", "d-no-customer": "c2", "d-no-message": "c1", "d-neither": "c3"}


def test_a_deal_is_visible_only_with_its_customer_and_a_stored_message() -> None:
    customers = {"c1"}
    stored = {"d-both", "d-no-customer"}
    assert visible_deals(DEALS, customers, stored) == {"d-both"}


def test_a_stored_message_of_an_unknown_deal_shows_nothing() -> None:
    assert visible_deals(DEALS, {"c1", "c2", "c3"}, {"d-unknown"}) == set()


def test_the_customer_arriving_last_makes_the_deal_visible() -> None:
    stored = {"d-no-customer"}
    assert visible_deals(DEALS, {"c1"}, stored) == set()
    assert visible_deals(DEALS, {"c1", "c2"}, stored) == {"d-no-customer"}
