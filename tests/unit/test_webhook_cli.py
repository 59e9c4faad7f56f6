"""`chatsync webhook set | delete | info` against aiogram's session port (no network)."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from chatsync.cli import cli
from tests.fakes.telegram import FakeBotApi, error, ok

TOKEN = "7000000001:AAE-test-token-not-real-0123456789abcdef"


@pytest.fixture(autouse=True)
def telegram_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "hook-secret-value")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://crm.example.com/telegram/webhook/")


def _invoke(args: list[str], answer: Any) -> tuple[Any, FakeBotApi]:
    session = FakeBotApi(lambda name, params: answer)
    result = CliRunner().invoke(cli, args, obj={"bot_session": session})
    return result, session


def test_set_registers_url_secret_and_business_updates() -> None:
    result, session = _invoke(["webhook", "set", "--max-connections", "10",
                               "--drop-pending-updates"], ok(True))  # fmt: skip
    assert result.exit_code == 0, result.output
    [(method, params)] = session.calls
    assert method == "setWebhook"
    assert params["url"] == "https://crm.example.com/telegram/webhook/"
    assert params["secret_token"] == "hook-secret-value"
    assert params["max_connections"] == 10
    assert params["drop_pending_updates"] is True
    assert "business_message" in params["allowed_updates"]
    assert "hook-secret-value" not in result.output


def test_set_without_secret_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET")
    result, session = _invoke(["webhook", "set"], ok(True))
    assert result.exit_code == 2
    assert "TELEGRAM_WEBHOOK_SECRET is not set" in result.output
    assert session.calls == []


def test_delete_and_info() -> None:
    result, session = _invoke(["webhook", "delete"], ok(True))
    assert result.exit_code == 0
    assert session.calls[0][0] == "deleteWebhook"
    info = {"url": "https://crm.example.com/telegram/webhook/", "has_custom_certificate": False,
            "pending_update_count": 3, "last_error_date": 1763700000,
            "last_error_message": "Wrong response from the webhook: 503 Service Unavailable",
            "max_connections": 40, "allowed_updates": ["business_message"]}  # fmt: skip
    result, _ = _invoke(["webhook", "info"], ok(info))
    assert result.exit_code == 0, result.output
    assert "pending updates: 3" in result.output
    assert "503 Service Unavailable" in result.output


def test_telegram_errors_are_one_line() -> None:
    result, _ = _invoke(["webhook", "delete"], error(401, "Unauthorized"))
    assert result.exit_code == 1
    assert result.output.strip().startswith("chatsync: Telegram answered:")
    assert TOKEN not in result.output
