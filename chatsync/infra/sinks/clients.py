"""The DynamoDB client the sink writes with, tuned for a batch writer that retries by itself.

``chatsync.infra.aws.dynamodb_client`` suits request/response callers: five adaptive attempts
(about 24 s before it gives up on a refused connection) and client-side parameter validation.
The sink differs on both counts:

* its runner already retries a failed batch with backoff and keeps the offsets uncommitted, so
  one retry in botocore is enough, and an outage shows in the metrics within a second or two;
* it sends thousands of items a second built from one fixed format, which DynamoDB validates
  anyway: botocore's validation walks every attribute of every item in Python and took about
  half of the sink's CPU time in ``bench/sinks`` (items per second nearly doubled without it).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from aiobotocore.config import AioConfig

from chatsync.infra.aws import dynamodb_client
from chatsync.settings import Settings

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

SINK_DYNAMODB_CONFIG = AioConfig(
    retries={"max_attempts": 2, "mode": "standard"},
    connect_timeout=5,
    read_timeout=30,
    parameter_validation=False,
    max_pool_connections=16,
)


def sink_dynamodb_client(settings: Settings) -> AbstractAsyncContextManager[DynamoDBClient]:
    """A DynamoDB client context for the sink (DYNAMODB_ENDPOINT_URL, or AWS when unset)."""
    return dynamodb_client(settings, SINK_DYNAMODB_CONFIG)
