"""Identity of deals, customers and events: deterministic, so every path agrees on it.

A deal is one conversation between an owner account and a customer chat. Its id depends only on
(owner user id, chat id): the same chat seen through the Business bot and through the owner's
own Telethon account is one deal, and a replay computes the same ids. Customers are keyed by their
Telegram user id. Event ids are UUIDv5 over what the event says, so a re-emitted event carries the
id it had the first time.
"""

from __future__ import annotations

import uuid

# Fixed forever: changing it would change every id ever published.
NAMESPACE = uuid.UUID("5b0f6f2e-6a53-4d8e-9a59-2b7c4a1f0c11")


def deal_id(owner_user_id: int, chat_id: int) -> str:
    """``deal_<uuid5>`` of the conversation between ``owner_user_id`` and the chat ``chat_id``."""
    return f"deal_{uuid.uuid5(NAMESPACE, f'deal:{owner_user_id}:{chat_id}').hex}"


def customer_id(user_id: int) -> str:
    """Customers are Telegram users; the id says so and stays readable."""
    return f"tg_{user_id}"


def event_id(*parts: object) -> str:
    """A UUIDv5 over the parts (event type first), as a string."""
    return str(uuid.uuid5(NAMESPACE, "|".join(str(part) for part in parts)))
