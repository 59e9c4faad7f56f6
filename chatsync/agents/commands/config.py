"""The executor's tunables, read from the ``COMMANDS_*`` settings once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from chatsync.agents.commands.models import Side
from chatsync.agents.commands.refresh import RefreshPolicy
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
    avatar_refresh: RefreshPolicy | None = None  # no refresh rounds

    @property
    def avatar_requests_group_id(self) -> str:
        """The consumer group that turns customer events into fetch_avatar commands."""
        return f"{self.group_id}-avatar-requests"

    def rate(self, side: Side) -> float:
        return self.botapi_rate if side == "botapi" else self.mtproto_rate

    @classmethod
    def from_settings(cls, settings: Settings) -> CommandsConfig:
        return cls(
            group_id=settings.commands_app_id,
            botapi_rate=settings.commands_botapi_rate,
            mtproto_rate=settings.commands_mtproto_rate,
            retry=RetryPolicy(
                max_attempts=settings.commands_max_attempts,
                base_s=settings.commands_retry_base_ms / 1000,
                max_s=settings.commands_retry_max_ms / 1000,
            ),
            avatar_refresh=_refresh_policy(settings),
        )


def _refresh_policy(settings: Settings) -> RefreshPolicy | None:
    """None when COMMANDS_AVATAR_REFRESH_DAYS is 0 (no refresh)."""
    if settings.commands_avatar_refresh_days == 0:
        return None
    return RefreshPolicy(
        after=timedelta(days=settings.commands_avatar_refresh_days),
        batch=settings.commands_avatar_refresh_batch,
        interval_s=settings.commands_avatar_refresh_interval_s,
    )
