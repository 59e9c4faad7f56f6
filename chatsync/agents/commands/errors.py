"""Errors of the command executor, by what the executor does about them.

==========================  ===================================================================
``RetryLater``              Telegram asked to wait (429 ``retry_after``, flood wait): wait that
                            long, then try again (bounded)
``TelegramUnavailable``     the edge did not answer (network, 5xx): back off, try again (bounded)
``NotStoredYet``            the row the command updates is not in PostgreSQL yet (the sink lags):
                            back off, try again (bounded)
``Refused``                 Telegram said no (400, 403, unknown user): trying again cannot help
``StoreUnavailable``        S3 or PostgreSQL did not answer: nothing is committed, the record is
                            read again after a pause, however long the outage lasts
``BadCommand``              the record is not a command this version understands
==========================  ===================================================================

A command that runs out of attempts, or is refused, is given up: logged once and kept in the DLQ.
"""

from __future__ import annotations

from chatsync.errors import ChatsyncError


class CommandsError(ChatsyncError):
    """Something the command executor could not do."""


class BadCommand(CommandsError):
    """The record is not a command of a schema version this executor understands."""


class CommandFailed(CommandsError):
    """One attempt at a command failed; ``retryable`` says whether another may succeed."""

    retryable = True


class RetryLater(CommandFailed):
    """Telegram asked to wait ``seconds`` before the next request (rate limit, flood wait)."""

    def __init__(self, seconds: float, detail: str = "") -> None:
        self.seconds = seconds
        super().__init__(f"Telegram asks to wait {seconds:g} s{': ' + detail if detail else ''}")


class TelegramUnavailable(CommandFailed):
    """Telegram did not answer, or answered with a server error."""


class NotStoredYet(CommandFailed):
    """The row a command updates or reads is not in PostgreSQL yet: the sink may still lag."""


class Refused(CommandFailed):
    """Telegram refused the request, or this executor cannot carry it out; final."""

    retryable = False


class StoreUnavailable(CommandsError):
    """S3 or PostgreSQL did not answer; the command is tried again once they do."""
