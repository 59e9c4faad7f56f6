"""The executor's tunables, read from Settings once.

``COMMANDS_*`` settings are read when Settings declares them and default otherwise, so this package
works before and after they are added there.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatsync.agents.commands.models import Side
from chatsync.settings import Settings


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: ``base_s``, doubled per attempt up to ``max_s``; ``max_attempts``
    attempts in all (the first included)."""

    max_attempts: int = 8
    base_s: float = 0.5
    max_s: float = 30.0

    def delay(self, attempt: int) -> float:
        """The pause after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.max_s, self.base_s * 2 ** (attempt - 1)))


@dataclass(frozen=True, slots=True)
class CommandsConfig:
    group_id: str = "chatsync-commands"
    botapi_rate: float = 10.0
    mtproto_rate: float = 1.0
    retry: RetryPolicy = RetryPolicy()

    @property
    def avatar_requests_group_id(self) -> str:
        """The consumer group that turns customer events into fetch_avatar commands."""
        return f"{self.group_id}-avatar-requests"

    def rate(self, side: Side) -> float:
        return self.botapi_rate if side == "botapi" else self.mtproto_rate

    @classmethod
    def from_settings(cls, settings: Settings) -> CommandsConfig:
        defaults = cls()

        def read(name: str, default: float) -> float:
            return float(getattr(settings, f"commands_{name}", default))

        return cls(
            group_id=str(getattr(settings, "commands_app_id", defaults.group_id)),
            botapi_rate=read("botapi_rate", defaults.botapi_rate),
            mtproto_rate=read("mtproto_rate", defaults.mtproto_rate),
            retry=RetryPolicy(
                max_attempts=int(read("max_attempts", defaults.retry.max_attempts)),
                base_s=read("retry_base_ms", defaults.retry.base_s * 1000) / 1000,
                max_s=read("retry_max_ms", defaults.retry.max_s * 1000) / 1000,
            ),
        )
