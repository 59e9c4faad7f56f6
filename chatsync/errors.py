"""The root of chatsync's exceptions. Each subpackage derives its own from ChatsyncError."""


class ChatsyncError(Exception):
    """Base of every error chatsync raises on purpose; its message tells the user what to do."""

    exit_code = 1


class ConfigError(ChatsyncError):
    """A setting is missing or invalid. Commands end with exit code 2 and one line naming it."""

    exit_code = 2
