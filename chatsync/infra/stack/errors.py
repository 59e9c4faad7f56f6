"""Errors of the local stack."""

from chatsync.errors import ChatsyncError


class StackError(ChatsyncError):
    """A component of the local stack could not be fetched, started, provisioned or stopped."""
