"""Logging: secrets never reach the output, JSON lines on request."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from chatsync.logs import configure_logging
from chatsync.settings import Settings

TOKEN = "7012345678:AAH-secret-bot-token-value-0123456789"


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.mark.usefixtures("restore_root_logger")
def test_secret_values_and_token_shapes_are_masked() -> None:
    stream = io.StringIO()
    configure_logging(
        _settings(
            telegram_webhook_secret="webhook-s3cret", tg_api_id=1, tg_api_hash="abcdef0123456789"
        ),
        stream,
    )
    log = logging.getLogger("chatsync.test")
    log.info("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    log.warning("secret is %s and hash %s", "webhook-s3cret", "abcdef0123456789")
    try:
        raise ValueError(f"failed with {TOKEN}")
    except ValueError:
        log.exception("boom")
    output = stream.getvalue()
    assert TOKEN not in output
    assert "webhook-s3cret" not in output
    assert "abcdef0123456789" not in output
    assert output.count("***") >= 4
    assert "ValueError" in output


@pytest.mark.usefixtures("restore_root_logger")
def test_json_lines_on_request() -> None:
    stream = io.StringIO()
    configure_logging(_settings(log_format="json", postgres_password="pg-pass-9876"), stream)
    logging.getLogger("chatsync.test").info("connected to %s", "postgres with pg-pass-9876")
    record = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert record["level"] == "INFO"
    assert record["name"] == "chatsync.test"
    assert record["message"] == "connected to postgres with ***"


@pytest.mark.usefixtures("restore_root_logger")
def test_configuring_twice_keeps_one_handler() -> None:
    configure_logging(_settings(), io.StringIO())
    configure_logging(_settings(), io.StringIO())
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_chatsync", False)]
    assert len(ours) == 1
