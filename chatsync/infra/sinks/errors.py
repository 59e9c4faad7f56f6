"""Errors of the sinks: a record that cannot be decoded; a store that cannot take a batch now."""

from __future__ import annotations

from chatsync.errors import ChatsyncError


class SinkError(ChatsyncError):
    """A sink could not take a record or write a batch."""


class UndecodableRecord(SinkError):
    """The record is not an event this sink understands; the runner dead-letters it."""


class SinkBackpressure(SinkError):
    """The store cannot take the batch now (down, throttling, restarting).

    The batch is kept and written again after ``retry_after`` seconds at the earliest; offsets are
    not committed in the meantime, so nothing is skipped and nothing is lost.
    """

    def __init__(self, message: str, *, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
