"""Reading messages of one deal from DynamoDB for the API (the item format is the DynamoDB sink's,
see ``chatsync.infra.dynamodb``): pages of the history, newest first, by message id."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatsync.events import MessageData
from chatsync.infra.dynamodb import edits_json

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


# Only the attributes ``stored_message`` reads: DynamoDB sends, and botocore parses, nothing else.
_PROJECTED_NAMES = {f"#{name}": name for name in ("data", "edits", "edits_z")}
_PROJECTION = ", ".join(_PROJECTED_NAMES)


@dataclass(frozen=True, slots=True)
class StoredMessage:
    data: MessageData
    edits: list[dict[str, Any]]


def stored_message(item: dict[str, Any]) -> StoredMessage:
    data = MessageData.model_validate_json(item["data"]["S"])
    edits = json.loads(edits_json(item))
    return StoredMessage(data, edits)


async def read_messages(
    client: DynamoDBClient, table: str, deal_id: str, *, limit: int,
    older_than: int | None = None, newer_than: int | None = None,
) -> list[StoredMessage]:  # fmt: skip
    """Up to ``limit`` messages, oldest first: the newest ones, those older than a message id,
    or the oldest of those newer than one."""
    condition, values = "deal_id = :deal", {":deal": {"S": deal_id}}
    if older_than is not None:
        condition += " AND message_id < :mark"
        values[":mark"] = {"N": str(older_than)}
    elif newer_than is not None:
        condition += " AND message_id > :mark"
        values[":mark"] = {"N": str(newer_than)}
    response = await client.query(
        TableName=table, KeyConditionExpression=condition,
        ExpressionAttributeValues=values, ProjectionExpression=_PROJECTION,
        ExpressionAttributeNames=_PROJECTED_NAMES,
        ScanIndexForward=newer_than is not None, Limit=limit,
    )  # fmt: skip
    messages = [stored_message(item) for item in response.get("Items", [])]
    return messages if newer_than is not None else list(reversed(messages))
