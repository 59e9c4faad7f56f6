"""Errors of the Telethon edge; each message is one line that tells the user what to do."""

from __future__ import annotations

from chatsync.producers.errors import ProducerError


class TelethonError(ProducerError):
    """Something on the Telethon edge needs the user's attention."""


class SessionKeyError(TelethonError):
    """The session file cannot be decrypted with TG_SESSION_KEY (wrong key or damaged file)."""

    exit_code = 2


class NotAuthorized(TelethonError):
    """The session holds no signed-in account."""

    def __init__(self) -> None:
        super().__init__("the Telethon session is not signed in: run `chatsync telethon login`")


class LoginError(TelethonError):
    """Signing in failed; the message says why and what to do next."""


class CommandError(TelethonError):
    """A command to Telegram (profile photo, read mark) could not be carried out."""


class SyncError(TelethonError):
    """A history sync could not start or continue."""


class SyncAlreadyRunning(SyncError):
    """Another history sync of the same account holds the lock."""

    def __init__(self, task_id: str, account_user_id: int) -> None:
        self.task_id, self.account_user_id = task_id, account_user_id
        super().__init__(
            f"a history sync of account {account_user_id} is already running (task {task_id})"
        )


class SyncInterrupted(SyncError):
    """The task was cancelled, finished or taken over by another process: stop working on it."""


class SyncStoreUnavailable(SyncError):
    """The sync store did not answer (database down); the caller retries later."""


class CommandRetryLater(CommandError):
    """Telegram asked to wait (flood wait) before this command can be carried out."""

    def __init__(self, seconds: int) -> None:
        self.retry_after_s = seconds
        super().__init__(f"Telegram asks to wait {seconds} s before this command (flood wait)")
