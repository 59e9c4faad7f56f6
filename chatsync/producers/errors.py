"""Errors of the producers (the Telegram edge)."""

from chatsync.errors import ChatsyncError


class ProducerError(ChatsyncError):
    """A producer could not take an update."""


class PublishUnavailable(ProducerError):
    """Kafka did not acknowledge a record within the bound; the caller must not acknowledge it."""
