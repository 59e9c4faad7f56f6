"""The executor's tunables: backoff, and the COMMANDS_* settings."""

from __future__ import annotations

from datetime import timedelta

from chatsync.agents.commands.config import CommandsConfig, RetryPolicy
from chatsync.agents.commands.refresh import RefreshPolicy
from chatsync.settings import Settings


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(max_attempts=9, base_s=0.5, max_s=5)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1, 2, 4, 5, 5]


def test_the_defaults() -> None:
    config = CommandsConfig.from_settings(Settings(_env_file=None))
    assert config == CommandsConfig(
        avatar_refresh=RefreshPolicy(after=timedelta(days=7), batch=200, interval_s=3600.0)
    )
    assert config.avatar_requests_group_id == "chatsync-commands-avatar-requests"
    assert (config.rate("botapi"), config.rate("mtproto")) == (10.0, 1.0)


def test_the_settings_are_read() -> None:
    settings = Settings(
        _env_file=None, commands_app_id="cmds", commands_botapi_rate=25.0,
        commands_mtproto_rate=0.5, commands_max_attempts=3, commands_retry_base_ms=200,
        commands_retry_max_ms=1000, commands_avatar_refresh_days=0.5,
        commands_avatar_refresh_batch=10, commands_avatar_refresh_interval_s=60,
    )  # fmt: skip
    assert CommandsConfig.from_settings(settings) == CommandsConfig(
        group_id="cmds", botapi_rate=25.0, mtproto_rate=0.5,
        retry=RetryPolicy(max_attempts=3, base_s=0.2, max_s=1.0),
        avatar_refresh=RefreshPolicy(after=timedelta(hours=12), batch=10, interval_s=60),
    )  # fmt: skip


def test_a_refresh_of_zero_days_turns_the_refresh_off() -> None:
    settings = Settings(_env_file=None, commands_avatar_refresh_days=0)
    assert CommandsConfig.from_settings(settings).avatar_refresh is None
