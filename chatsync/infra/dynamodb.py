"""The DynamoDB table of messages: its key design, declared once for provisioning and the sink.

Partition key ``deal_id`` (S): every message of one conversation lives in one item collection.
Sort key ``message_id`` (N): Telegram message ids grow with time within a private chat of one
account, so a Query on a deal returns its messages in time order, either way round, and the same
message seen from the Bot API, Telethon or an export lands on the same item (idempotent writes).
"""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "deal_id"
SORT_KEY = "message_id"


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
