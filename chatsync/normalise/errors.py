"""Errors of normalisation: a record that cannot be normalised goes to the DLQ with this reason."""

from chatsync.errors import ChatsyncError


class NormaliseError(ChatsyncError):
    """The record is not what its envelope claims (missing fields, wrong types)."""
