"""Commands on ``chat.commands``: what chatsync asks the Telegram edge to do (a public contract).

One JSON object per record, discriminated by ``command_type``; schema version 1, bumped on an
incompatible change. Every command names the side that carries it out: ``botapi`` (the Business
bot) or ``mtproto`` (the owner's Telethon account).

=====================  ======================================================================
``command_id``         deterministic: asking for the same thing again gives the same id
``command_type``       ``fetch_avatar`` or ``mark_read``
``schema_version``     1
``created_at``         when the command was asked for, ISO-8601 UTC
``side``               ``botapi`` or ``mtproto``
``owner_user_id``      the owner whose bot connection or account carries it out
=====================  ======================================================================

``fetch_avatar`` (key: customer id) adds ``customer_id`` and ``user_id``; its id is derived from
the customer event that caused it, so a replayed event asks again under the same id.
``mark_read`` (key: deal id) adds ``deal_id``, ``chat_id``, ``business_connection_id`` (required
for ``botapi``) and ``up_to_message_id`` (null: everything up to the deal's latest message when the
command runs); its id is derived from (deal, message id), or (deal, ``created_at``) when null.

Commands are idempotent: the executor may run one twice (at least once), with the same effect.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from chatsync.agents.commands.errors import BadCommand
from chatsync.envelopes import utc_now
from chatsync.identity import event_id

COMMAND_SCHEMA_VERSION: Literal[1] = 1
Side = Literal["botapi", "mtproto"]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    command_id: str = Field(description="deterministic: asking again gives the same id")
    schema_version: Literal[1] = COMMAND_SCHEMA_VERSION
    created_at: datetime
    side: Side
    owner_user_id: int


class FetchAvatar(_Command):
    """Fetch the customer's current profile photo into S3 and point the customer row at it."""

    command_type: Literal["fetch_avatar"] = "fetch_avatar"
    customer_id: str
    user_id: int

    @property
    def key(self) -> bytes:
        return self.customer_id.encode()


class MarkRead(_Command):
    """Mark the deal's chat as read by the owner, up to a message (or the latest)."""

    command_type: Literal["mark_read"] = "mark_read"
    deal_id: str
    chat_id: int
    business_connection_id: str | None = None
    up_to_message_id: int | None = Field(default=None, ge=1)

    @property
    def key(self) -> bytes:
        return self.deal_id.encode()

    @model_validator(mode="after")
    def _business_deals_name_their_connection(self) -> MarkRead:
        if self.side == "botapi" and not self.business_connection_id:
            raise ValueError("a botapi mark_read needs business_connection_id")
        return self


Command = FetchAvatar | MarkRead
COMMAND_TYPES: dict[str, type[FetchAvatar] | type[MarkRead]] = {
    "fetch_avatar": FetchAvatar,
    "mark_read": MarkRead,
}
_COMMANDS: TypeAdapter[Command] = TypeAdapter(
    Annotated[Command, Field(discriminator="command_type")]
)


def encode_command(command: Command) -> bytes:
    return command.model_dump_json().encode()


def decode_command(value: bytes) -> Command:
    """The command in a record value; BadCommand when it is not one this version understands."""
    try:
        return _COMMANDS.validate_json(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "record"
        raise BadCommand(f"not a command of schema version 1: {where}: {first['msg']}") from None


def fetch_avatar(
    *, customer_id: str, user_id: int, owner_user_id: int, side: Side, cause: str,
    created_at: datetime | None = None,
) -> FetchAvatar:  # fmt: skip
    """A fetch_avatar command caused by the event ``cause`` (its id names the command)."""
    return FetchAvatar(
        command_id=event_id("fetch_avatar", customer_id, side, owner_user_id, cause),
        created_at=created_at or utc_now(), side=side, owner_user_id=owner_user_id,
        customer_id=customer_id, user_id=user_id,
    )  # fmt: skip


def mark_read(
    *, deal_id: str, owner_user_id: int, chat_id: int, side: Side,
    business_connection_id: str | None, up_to_message_id: int | None,
    created_at: datetime | None = None,
) -> MarkRead:  # fmt: skip
    """A mark_read command; ``up_to_message_id`` None reads everything there is when it runs."""
    created_at = created_at or utc_now()
    latest = f"latest@{created_at.isoformat()}"
    target = up_to_message_id if up_to_message_id is not None else latest
    return MarkRead(
        command_id=event_id("mark_read", deal_id, target), created_at=created_at, side=side,
        owner_user_id=owner_user_id, deal_id=deal_id, chat_id=chat_id,
        business_connection_id=business_connection_id, up_to_message_id=up_to_message_id,
    )  # fmt: skip
