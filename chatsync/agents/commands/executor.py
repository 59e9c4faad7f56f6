"""The executor: one command at a time, retried with backoff until done or given up.

Telegram's "wait" (RetryLater) is obeyed; a missing edge (TelegramUnavailable) and a row the sink
has not stored yet (NotStoredYet) are retried with exponential backoff, ``max_attempts`` in all;
a refusal is final. StoreUnavailable and PublishUnavailable are not the command's fault and
propagate: the consumer loop reads the record again after a pause (see ``consumer``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from chatsync.agents.commands.avatars import AvatarHandler
from chatsync.agents.commands.config import RetryPolicy
from chatsync.agents.commands.errors import CommandFailed, RetryLater
from chatsync.agents.commands.models import Command, FetchAvatar, MarkRead
from chatsync.agents.commands.ratelimit import Sleep
from chatsync.agents.commands.reads import ReadHandler

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    command: Command
    status: Literal["done", "given_up"]
    attempts: int
    detail: str


class Executor:
    def __init__(
        self,
        avatars: AvatarHandler,
        reads: ReadHandler,
        policy: RetryPolicy,
        *,
        sleep: Sleep = asyncio.sleep,
        observer: Callable[[Outcome], None] | None = None,
    ) -> None:
        self._avatars, self._reads, self._policy = avatars, reads, policy
        self._sleep, self._observer = sleep, observer

    async def execute(self, command: Command) -> Outcome:
        attempt = 1
        while True:
            try:
                detail = await self._attempt(command)
            except CommandFailed as exc:
                if not exc.retryable or attempt >= self._policy.max_attempts:
                    return self._finish(command, "given_up", attempt, str(exc))
                delay = self._policy.delay(attempt)
                if isinstance(exc, RetryLater):
                    delay = max(delay, exc.seconds)
                log.info("command %s (%s), attempt %d: %s; again in %.1f s", command.command_id,
                         command.command_type, attempt, exc, delay)  # fmt: skip
                await self._sleep(delay)
                attempt += 1
            else:
                return self._finish(command, "done", attempt, detail)

    async def _attempt(self, command: Command) -> str:
        if isinstance(command, FetchAvatar):
            return await self._avatars(command)
        assert isinstance(command, MarkRead)
        return await self._reads(command)

    def _finish(self, command: Command, status: Literal["done", "given_up"], attempts: int,
                detail: str) -> Outcome:  # fmt: skip
        outcome = Outcome(command, status, attempts, detail)
        if status == "given_up":
            log.warning("command %s (%s) given up after %d attempt(s): %s", command.command_id,
                        command.command_type, attempts, detail)  # fmt: skip
        else:
            log.debug("command %s (%s) done: %s", command.command_id, command.command_type,
                      detail)  # fmt: skip
        if self._observer is not None:
            self._observer(outcome)
        return outcome
