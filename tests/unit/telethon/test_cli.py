"""``chatsync telethon status`` without the network, and one-line errors for a wrong key."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import click
from click.testing import CliRunner
from telethon.crypto import AuthKey

from chatsync.cli import _Commands
from chatsync.producers.telethon.backfill_cli import backfill
from chatsync.producers.telethon.cli import telethon
from chatsync.producers.telethon.health import HealthFile, LiveHealth, health_path
from chatsync.producers.telethon.session import EncryptedSession
from chatsync.settings import Settings
from tests.fakes.telethon import ACCOUNT

KEY = "k" * 32


def _cli(settings: Settings) -> click.Group:
    @click.group(cls=_Commands)
    @click.pass_context
    def root(ctx: click.Context) -> None:
        ctx.obj = {"settings": settings}

    root.add_command(telethon)
    return root


def _settings(tmp_path: Path, key: str = KEY) -> Settings:
    values = {
        "tg_session_key": key,
        "chatsync_var_dir": tmp_path,
        "tg_session_path": tmp_path / "telethon" / "a.session",
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_status_shows_the_account_and_the_live_health(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    session = EncryptedSession(settings.tg_session_path, KEY)
    session.auth_key, session.account_user_id = AuthKey(secrets.token_bytes(256)), ACCOUNT
    session.save()
    HealthFile(health_path(settings.var_dir, ACCOUNT)).write(
        LiveHealth(account_user_id=ACCOUNT, connected=True, reconnects=2)
    )

    result = CliRunner().invoke(_cli(settings), ["telethon", "status"])

    assert result.exit_code == 0, result.output
    assert "signed in: yes" in result.output
    assert f"account: {ACCOUNT}" in result.output
    assert "connected: True" in result.output
    assert "reconnects: 2" in result.output
    saved = json.loads(health_path(settings.var_dir, ACCOUNT).read_text())
    assert saved["connected"] is True


def test_a_wrong_key_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    EncryptedSession(settings.tg_session_path, KEY).save()

    result = CliRunner().invoke(_cli(_settings(tmp_path, "wrong key")), ["telethon", "status"])

    assert result.exit_code == 2
    assert result.output.startswith("chatsync: TG_SESSION_KEY does not open")
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_status_without_a_login_says_what_to_do(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    result = CliRunner().invoke(_cli(settings), ["telethon", "status"])
    assert result.exit_code == 1
    assert "run `chatsync telethon login`" in result.output

    EncryptedSession(settings.tg_session_path, KEY).save()
    result = CliRunner().invoke(_cli(settings), ["telethon", "status"])
    assert result.exit_code == 1
    assert "signed in: no" in result.output


def test_run_and_backfill_refuse_a_session_that_is_not_signed_in(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    EncryptedSession(settings.tg_session_path, KEY).save()
    root = _cli(settings)
    root.add_command(backfill)

    for command in (["telethon", "run"], ["backfill", "--min-date", "2026-01-01"]):
        result = CliRunner().invoke(root, command)
        assert result.exit_code == 1, result.output
        assert result.output == (
            "chatsync: the Telethon session is not signed in: run `chatsync telethon login`\n"
        )


def test_backfill_refuses_dates_in_the_wrong_order(tmp_path: Path) -> None:
    root = _cli(_settings(tmp_path))
    root.add_command(backfill)
    args = ["backfill", "--min-date", "2026-02-01", "--max-date", "2026-01-31"]
    result = CliRunner().invoke(root, args)
    assert result.exit_code == 1
    assert result.output == "chatsync: --min-date must not be after --max-date\n"
