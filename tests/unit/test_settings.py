"""Settings: defaults, validation with one clear line, and the README table kept complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from chatsync.agents.app import worker_state_dir
from chatsync.cli import cli
from chatsync.errors import ConfigError
from chatsync.settings import Settings, load_settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_point_at_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings(_env_file=None)
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.sqlalchemy_url.startswith("postgresql+asyncpg://chatsync:")
    assert settings.topic_raw_botapi == "tg.raw.botapi"


def test_database_url_wins_and_gets_the_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db.example:5432/crm")
    assert load_settings().sqlalchemy_url == "postgresql+asyncpg://u:p@db.example:5432/crm"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("KAFKA_BOOTSTRAP_SERVERS", "no-port", "KAFKA_BOOTSTRAP_SERVERS: expected host:port"),
        ("POSTGRES_PORT", "not-a-number", "POSTGRES_PORT: Input should be a valid integer"),
        ("DATABASE_URL", "mysql://x@y/z", "DATABASE_URL: must be a postgresql://"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT: Input should be 'text' or 'json'"),
        ("S3_ENDPOINT_URL", "ftp://host", "S3_ENDPOINT_URL: expected an http(s):// URL"),
        ("TG_API_ID", "123", "TG_API_ID and TG_API_HASH must be set together"),
    ],
)
def test_invalid_setting_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert expected in message
    assert "\n" not in message


def test_cli_exits_2_with_one_line_and_no_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broken")
    result = CliRunner().invoke(cli, ["infra", "status"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "chatsync: invalid configuration: KAFKA_BOOTSTRAP_SERVERS: expected "
        "host:port[,host:port...], got 'broken'"
    ]
    assert "Traceback" not in result.output


def test_a_missing_required_setting_names_the_variable() -> None:
    settings = Settings(_env_file=None, telegram_bot_token=None)
    with pytest.raises(ConfigError, match=r"^TELEGRAM_BOT_TOKEN is not set"):
        settings.require("telegram_bot_token")


def test_secrets_do_not_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:very-secret-token-value-abcdefghijk")
    assert "very-secret" not in repr(load_settings())


def test_readme_documents_every_setting() -> None:
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", README.read_text(), re.MULTILINE))
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - documented == set(), "add these to the README's configuration table"
    assert documented - fields - {"PG_BIN_DIR"} == set(), "README documents unknown variables"


def test_the_worker_state_dir_defaults_under_the_var_dir_and_can_be_set_per_worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHATSYNC_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("WORKER_APP_ID", "crm-worker")
    monkeypatch.delenv("WORKER_STATE_DIR", raising=False)
    assert worker_state_dir(load_settings()) == tmp_path / "var" / "worker" / "crm-worker"
    monkeypatch.setenv("WORKER_STATE_DIR", str(tmp_path / "second"))
    assert worker_state_dir(load_settings()) == tmp_path / "second"
