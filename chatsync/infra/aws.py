"""aioboto3 clients for DynamoDB and S3, pointed at the configured endpoints."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Literal

import aioboto3
from aiobotocore.config import AioConfig

from chatsync.settings import Settings

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_s3 import S3Client

_DYNAMODB_CONFIG = AioConfig(retries={"max_attempts": 5, "mode": "adaptive"}, connect_timeout=5)
# Checksums only where S3 requires them: S3-compatible servers (S3Proxy, MinIO, ...) do not all
# accept the streaming checksum trailers botocore sends by default since 1.36.
_S3_CONFIG = _DYNAMODB_CONFIG.merge(
    AioConfig(request_checksum_calculation="when_required",
              response_checksum_validation="when_required")
)  # fmt: skip


# The API's reads: small queries from up to a hundred concurrent requests. Standard retries
# (adaptive mode adds a client-side rate limiter and its bookkeeping to every call), no
# client-side validation (the API sends a few fixed request shapes, which DynamoDB validates
# anyway), and a connection per concurrent request instead of botocore's 10, so that requests
# do not queue for a connection in front of DynamoDB.
API_DYNAMODB_CONFIG = AioConfig(
    retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5,
    parameter_validation=False, max_pool_connections=100,
)  # fmt: skip


def _client(
    settings: Settings, service: Literal["dynamodb", "s3"], endpoint: str | None, config: AioConfig
) -> Any:
    session = aioboto3.Session(
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key.get_secret_value(),
        region_name=settings.aws_region,
    )
    return session.client(service, endpoint_url=endpoint, config=config)


def dynamodb_client(
    settings: Settings, config: AioConfig | None = None
) -> AbstractAsyncContextManager[DynamoDBClient]:
    """A DynamoDB client context (DYNAMODB_ENDPOINT_URL, or AWS itself when unset); ``config``
    replaces the default retry and validation settings (the sink tunes its own)."""
    client: AbstractAsyncContextManager[DynamoDBClient] = _client(
        settings, "dynamodb", settings.dynamodb_endpoint_url, config or _DYNAMODB_CONFIG
    )
    return client


def s3_client(settings: Settings) -> AbstractAsyncContextManager[S3Client]:
    """An S3 client context (S3_ENDPOINT_URL, or AWS itself when unset)."""
    client: AbstractAsyncContextManager[S3Client] = _client(
        settings, "s3", settings.s3_endpoint_url, _S3_CONFIG
    )
    return client
