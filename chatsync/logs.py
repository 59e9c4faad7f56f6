"""Logging, set up once per process: human-readable by default, JSON lines on request.

Secrets never reach a log line: every record passes through a filter that masks the values of the
secret settings and anything shaped like a Telegram bot token, whatever the library that logged it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

from pythonjsonlogger.json import JsonFormatter

from chatsync.settings import Settings

MASK = "***"
# A Bot API token is "<bot id>:<35 characters>"; libraries put it in URLs they log.
_BOT_TOKEN = re.compile(r"(?<![0-9])[0-9]{5,}:[A-Za-z0-9_-]{30,}")
_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


class RedactSecrets(logging.Filter):
    """Replace known secret values and token-shaped strings in a record by ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _BOT_TOKEN.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now, redacted, so handlers print the masked copy.
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold, as plain strings, for the redaction filter."""
    values: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if hasattr(value, "get_secret_value"):
            values.append(value.get_secret_value())
    values.append(settings.sqlalchemy_url.split("@", 1)[0].rsplit(":", 1)[-1])
    return values


def configure_logging(settings: Settings, stream: object = None) -> None:
    """Install one handler on the root logger; calling it again replaces the earlier one."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter(_JSON_FIELDS, rename_fields={"levelname": "level"}))
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT))
    handler.addFilter(RedactSecrets(secret_values(settings)))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_chatsync", False)]:
        root.removeHandler(old)
    handler._chatsync = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # Chatty libraries stay at WARNING unless we debug.
    if settings.log_level != "DEBUG":
        for noisy in ("aiokafka", "botocore", "aiobotocore", "urllib3", "asyncio"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
