"""Which store errors mean "unavailable, try again later" (back-pressure) rather than a bug.

The adapters wrap their store calls in ``backpressure_on_outage``: a refused or dropped connection,
a server starting up or shutting down, a timeout or throttling becomes ``SinkBackpressure`` and the
runner retries the batch with backoff. Everything else (a constraint violation, a malformed
request) propagates: retrying it would stall the partition forever, so the runner stops without
committing and the error is visible.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from chatsync.infra.sinks.errors import SinkBackpressure

# OSError covers refused and reset connections and timeouts (TimeoutError is an OSError).
_POSTGRES_DOWN: tuple[type[BaseException], ...] = (
    OSError,
    OperationalError,
    InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # starting up, shutting down, cancelled
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
)
_DYNAMODB_DOWN: tuple[type[BaseException], ...] = (BotoConnectionError, HTTPClientError)
_DYNAMODB_RETRYABLE_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "LimitExceededException",
})  # fmt: skip
THROTTLED_RETRY_AFTER_S = 0.5


def is_outage(error: BaseException) -> bool:
    """True when ``error`` says the store is unavailable now, not that the request is wrong.

    SQLAlchemy wraps the driver's errors: an error while connecting ("the database system is
    starting up") arrives as a plain DBAPIError whose cause is asyncpg's CannotConnectNowError,
    so the causes are looked at too.
    """
    if isinstance(error, _POSTGRES_DOWN + _DYNAMODB_DOWN):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code", "") in _DYNAMODB_RETRYABLE_CODES
    cause = error.__cause__
    return cause is not None and cause is not error and is_outage(cause)


@contextmanager
def backpressure_on_outage(store: str) -> Iterator[None]:
    """Turn an outage of ``store`` into SinkBackpressure; let every other error through."""
    try:
        yield
    except SinkBackpressure:
        raise
    except Exception as exc:
        if not is_outage(exc):
            raise
        retry_after = THROTTLED_RETRY_AFTER_S if isinstance(exc, ClientError) else 0.0
        raise SinkBackpressure(
            f"{store} unavailable: {type(exc).__name__}: {exc}", retry_after=retry_after
        ) from exc
