"""The executor's tunables: backoff, and COMMANDS_* settings read when Settings declares them."""

from __future__ import annotations

from chatsync.agents.commands.config import CommandsConfig, RetryPolicy
from chatsync.settings import Settings


class SettingsWithCommands(Settings):
    """Settings once the COMMANDS_* fields are declared (the proposed names)."""

    commands_app_id: str = "cmds"
    commands_botapi_rate: float = 25.0
    commands_mtproto_rate: float = 0.5
    commands_max_attempts: int = 3
    commands_retry_base_ms: int = 200
    commands_retry_max_ms: int = 1000


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(max_attempts=9, base_s=0.5, max_s=5)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1, 2, 4, 5, 5]


def test_defaults_apply_until_settings_declare_the_fields() -> None:
    config = CommandsConfig.from_settings(Settings(_env_file=None))
    assert config == CommandsConfig()
    assert config.avatar_requests_group_id == "chatsync-commands-avatar-requests"
    assert (config.rate("botapi"), config.rate("mtproto")) == (10.0, 1.0)


def test_declared_settings_are_read() -> None:
    config = CommandsConfig.from_settings(SettingsWithCommands(_env_file=None))
    assert config == CommandsConfig(
        group_id="cmds", botapi_rate=25.0, mtproto_rate=0.5,
        retry=RetryPolicy(max_attempts=3, base_s=0.2, max_s=1.0),
    )  # fmt: skip
