"""The DynamoDB table of messages: its key design and item format, declared once for provisioning,
the sink (which writes items) and the API (which reads them).

Partition key ``deal_id`` (S): every message of one conversation lives in one item collection.
Sort key ``message_id`` (N): Telegram message ids grow with time within a private chat of one
account, so a Query on a deal returns its messages in time order, either way round, and the same
message seen from the Bot API, Telethon or an export lands on the same item (idempotent writes).

Item attributes (a contract: ``message_item`` writes them, ``message_from_item`` reads them):

=================  ====  ===============================================================
``deal_id``        S     partition key
``message_id``     N     sort key
``version``        N     the message's version (grows with each accepted change)
``event_id``       S     the event that produced this version
``owner_user_id``  N     the owner account of the deal
``date``           S     when the message was sent, ISO-8601
``is_deleted``     BOOL  soft delete: the content stays, the flag says it was deleted
``data``           S     the event's MessageData as JSON (``MessageData.model_dump_json()``)
``edits``          S     JSON list, oldest first, of the earlier versions that message.edited
                         events replaced: ``{"version", "edit_date", "text", "entities",
                         "media"}`` each
``edits_z``        B     instead of ``edits`` when that JSON exceeds 16 KiB: the same JSON,
                         zlib-compressed (the versions of one message compress well)
``edits_dropped``  N     only when a history outgrew its budget (300 KiB compressed, since an
                         item may not exceed 400 KB): how many of the oldest edits were dropped
``updated_at``     S     when this version happened (the event's ``occurred_at``), ISO-8601
=================  ====  ===============================================================
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, TypeAdapter

from chatsync.events import Entity, Media, MessageData

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb.type_defs import AttributeValueTypeDef

    Item = dict[str, AttributeValueTypeDef]
else:
    Item = dict[str, Any]

PARTITION_KEY = "deal_id"
SORT_KEY = "message_id"
EDITS_PACK_ABOVE_BYTES = 16 * 1024
EDITS_BUDGET_BYTES = 300 * 1024


def messages_table_definition(table_name: str) -> dict[str, Any]:
    """Arguments for ``CreateTable`` of the messages table (on-demand capacity)."""
    return {
        "TableName": table_name,
        "AttributeDefinitions": [
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "N"},
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


class MessageEdit(BaseModel):
    """An earlier version of a message, replaced by an edit (an entry of ``edits``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    edit_date: datetime | None
    text: str | None
    entities: list[Entity]
    media: Media | None

    @classmethod
    def of(cls, data: MessageData) -> MessageEdit:
        return cls(version=data.version, edit_date=data.edit_date, text=data.text,
                   entities=data.entities, media=data.media)  # fmt: skip


_EDITS = TypeAdapter(list[MessageEdit])


@dataclass(frozen=True, slots=True)
class MessageItem:
    """One message as stored: its current version and the history of its edits."""

    deal_id: str
    message_id: int
    version: int
    event_id: str
    owner_user_id: int
    is_deleted: bool
    data: MessageData
    edits: tuple[MessageEdit, ...]
    updated_at: datetime
    edits_dropped: int = 0  # the oldest edits dropped to keep the item under DynamoDB's limit

    @property
    def date(self) -> datetime:
        return self.data.date


def message_key(deal_id: str, message_id: int) -> Item:
    """The primary key of one message, for GetItem and BatchGetItem."""
    return {PARTITION_KEY: {"S": deal_id}, SORT_KEY: {"N": str(message_id)}}


def message_item(item: MessageItem) -> Item:
    """The DynamoDB item (attribute values) of a message."""
    return {
        **message_key(item.deal_id, item.message_id),
        "version": {"N": str(item.version)},
        "event_id": {"S": item.event_id},
        "owner_user_id": {"N": str(item.owner_user_id)},
        "date": {"S": item.date.isoformat()},
        "is_deleted": {"BOOL": item.is_deleted},
        "data": {"S": item.data.model_dump_json()},
        **_edits_attributes(item.edits, item.edits_dropped),
        "updated_at": {"S": item.updated_at.isoformat()},
    }


def _edits_attributes(edits: tuple[MessageEdit, ...], dropped: int) -> Item:
    """The history as JSON text, compressed when large; beyond the budget the oldest edits go
    (counted), so that a message edited without end never makes its item unwritable."""
    kept = list(edits)
    while True:
        raw = _EDITS.dump_json(kept)
        if len(raw) <= EDITS_PACK_ABOVE_BYTES:
            attributes: Item = {"edits": {"S": raw.decode()}}
            break
        packed = zlib.compress(raw)
        if len(packed) <= EDITS_BUDGET_BYTES:
            attributes = {"edits_z": {"B": packed}}
            break
        drop = max(1, len(kept) // 10)
        kept, dropped = kept[drop:], dropped + drop
    if dropped:
        attributes["edits_dropped"] = {"N": str(dropped)}
    return attributes


def edits_json(raw: Mapping[str, AttributeValueTypeDef]) -> bytes:
    """The JSON list of an item's earlier versions, however it is stored."""
    if "edits_z" in raw:
        return zlib.decompress(raw["edits_z"]["B"])
    return raw["edits"]["S"].encode() if "edits" in raw else b"[]"


def message_from_item(raw: Mapping[str, AttributeValueTypeDef]) -> MessageItem:
    """A stored item back as a MessageItem (KeyError or ValueError when it is not one)."""
    return MessageItem(
        deal_id=raw[PARTITION_KEY]["S"],
        message_id=int(raw[SORT_KEY]["N"]),
        version=int(raw["version"]["N"]),
        event_id=raw["event_id"]["S"],
        owner_user_id=int(raw["owner_user_id"]["N"]),
        is_deleted=raw["is_deleted"]["BOOL"],
        data=MessageData.model_validate_json(raw["data"]["S"]),
        edits=tuple(_EDITS.validate_json(edits_json(raw))),
        updated_at=datetime.fromisoformat(raw["updated_at"]["S"]),
        edits_dropped=int(raw["edits_dropped"]["N"]) if "edits_dropped" in raw else 0,
    )
