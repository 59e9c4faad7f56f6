"""Errors of the replay tools; each message says what to do next."""

from __future__ import annotations

from chatsync.errors import ChatsyncError


class ReplayError(ChatsyncError):
    """A replay, archive or inspection cannot go on (bad options, missing topic, ...)."""


class UnsafeOperation(ReplayError):
    """Refused because it would harm data or a running process; the message says how to proceed."""


class ArchiveUnavailable(ReplayError):
    """The S3 archive could not be read or written."""
