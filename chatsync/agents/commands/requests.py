"""Asking for commands: ``request_read`` (called by the API) and avatars for customer events.

Both publish to ``chat.commands`` and return once Kafka acknowledged (PublishUnavailable when it
did not in time: the caller answers "try again later"). The executor does the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chatsync.agents.commands.errors import CommandsError
from chatsync.agents.commands.models import (
    Command,
    FetchAvatar,
    Side,
    encode_command,
    fetch_avatar,
    mark_read,
)
from chatsync.events import CustomerCreated, CustomerUpdated
from chatsync.producers.publisher import Publisher
from chatsync.settings import Settings


class CannotRequest(CommandsError):
    """The request cannot become a command (for example a Business deal without a connection)."""


class DealRef(Protocol):
    """What ``request_read`` needs of a deal (the API's deal row has these fields)."""

    @property
    def deal_id(self) -> str: ...
    @property
    def owner_user_id(self) -> int: ...
    @property
    def chat_id(self) -> int: ...
    @property
    def source(self) -> str: ...
    @property
    def business_connection_id(self) -> str | None: ...


async def request_read(
    publisher: Publisher, settings: Settings, deal: DealRef, up_to_message_id: int | None,
    *, requested_at: datetime | None = None,
) -> str:  # fmt: skip
    """Ask for the deal's chat to be marked read by its owner, up to ``up_to_message_id`` (None:
    up to the latest message when the command runs); return the command id.

    Once Telegram confirmed the read mark, the deal's ``deal.updated`` with ``unread_count`` 0
    follows through the normal pipeline.
    """
    if deal.source not in ("botapi", "mtproto"):
        raise CannotRequest(f"deal {deal.deal_id}: unknown source {deal.source!r}")
    side: Side = "botapi" if deal.source == "botapi" else "mtproto"
    if side == "botapi" and not deal.business_connection_id:
        raise CannotRequest(f"deal {deal.deal_id} is a Business deal without a connection")
    if up_to_message_id is not None and up_to_message_id < 1:
        raise CannotRequest(f"up_to_message_id must be a message id, got {up_to_message_id}")
    command = mark_read(
        deal_id=deal.deal_id, owner_user_id=deal.owner_user_id, chat_id=deal.chat_id, side=side,
        business_connection_id=deal.business_connection_id, up_to_message_id=up_to_message_id,
        created_at=requested_at,
    )  # fmt: skip
    await publish_command(publisher, settings.topic_commands, command)
    return command.command_id


def avatar_command(event: CustomerCreated | CustomerUpdated) -> FetchAvatar:
    """The fetch_avatar command a customer event asks for: through the bot when a Bot API update
    caused it, else through the owner's account (live, history or import)."""
    return fetch_avatar(
        customer_id=event.data.customer_id, user_id=event.data.user_id,
        owner_user_id=event.owner_user_id,
        side="botapi" if event.source.kind == "botapi" else "mtproto", cause=event.event_id,
    )  # fmt: skip


async def publish_command(publisher: Publisher, topic: str, command: Command) -> None:
    await publisher.publish(
        topic, command.key, encode_command(command),
        headers=[("command_type", command.command_type.encode())], dedupe_key=command.command_id,
    )  # fmt: skip
