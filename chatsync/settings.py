"""Typed, frozen settings read from the environment (and an optional ``.env``) in one place.

Every variable is documented in the README's configuration table; ``tests/unit/test_settings.py``
fails when a field is added here without a row there. The local stack (``chatsync infra``) binds to
the addresses the client settings name, so one variable configures both ends.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chatsync.errors import ConfigError

LogFormat = Literal["text", "json"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    """All configuration of chatsync. Field names are the environment variables, upper-cased."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        case_sensitive=False,
        env_ignore_empty=True,
    )

    # Kafka
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_controller_port: int = Field(9093, ge=1, le=65535)
    kafka_topic_partitions: int = Field(4, ge=1, le=1000)
    kafka_replication_factor: int = Field(1, ge=1, le=10)
    kafka_raw_retention_ms: int = Field(7 * 24 * 3600 * 1000, ge=-1)
    kafka_event_retention_ms: int = Field(7 * 24 * 3600 * 1000, ge=-1)
    kafka_publish_timeout_ms: int = Field(5000, ge=100, le=120_000)
    topic_raw_botapi: str = "tg.raw.botapi"
    topic_raw_mtproto: str = "tg.raw.mtproto"
    topic_deals: str = "chat.deals"
    topic_customers: str = "chat.customers"
    topic_messages: str = "chat.messages"
    topic_commands: str = "chat.commands"
    topic_dlq: str = "chat.dlq"

    # PostgreSQL: DATABASE_URL wins; otherwise it is built from the POSTGRES_* parts.
    database_url: SecretStr | None = None
    postgres_host: str = "127.0.0.1"
    postgres_port: int = Field(5433, ge=1, le=65535)
    postgres_db: str = "chatsync"
    postgres_user: str = "chatsync"
    postgres_password: SecretStr = SecretStr("chatsync-dev-password")

    # AWS-compatible stores
    aws_region: str = "us-east-1"
    aws_access_key_id: str = "chatsync"
    aws_secret_access_key: SecretStr = SecretStr("chatsync-local-secret")
    dynamodb_endpoint_url: str | None = "http://127.0.0.1:8000"
    dynamodb_messages_table: str = "chatsync-messages"
    s3_endpoint_url: str | None = "http://127.0.0.1:9000"
    s3_bucket: str = "chatsync"

    # Telegram Bot API (Business)
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_url: str | None = None
    webhook_max_body_bytes: int = Field(1024 * 1024, ge=1024)

    # Telegram user accounts (Telethon)
    tg_api_id: int | None = None
    tg_api_hash: SecretStr | None = None
    tg_session_path: Path = Path("var/telethon/account.session")
    tg_session_key: SecretStr | None = None
    tg_include_groups: bool = False

    # Worker (Faust)
    worker_app_id: str = "chatsync-worker"
    worker_store: str = "rocksdb://"
    worker_state_dir: Path | None = None  # default: <CHATSYNC_VAR_DIR>/worker/<WORKER_APP_ID>
    worker_commit_interval_ms: int = Field(1000, ge=10, le=60_000)
    worker_batch_size: int = Field(500, ge=1, le=100_000)
    worker_batch_wait_ms: int = Field(10, ge=1, le=10_000)
    worker_producer_linger_ms: int = Field(0, ge=0, le=1_000)

    # Sinks (chatsync sinks)
    sink_batch_max_records: int = Field(5000, ge=1, le=100_000)
    sink_batch_max_wait_ms: int = Field(500, ge=0, le=60_000)
    sink_retry_initial_ms: int = Field(200, ge=1, le=60_000)
    sink_retry_max_ms: int = Field(30_000, ge=1, le=3_600_000)

    # Raw archive (chatsync archive) and the replay tools
    archive_group: str = "chatsync-archiver"
    archive_prefix: str = "raw"
    archive_max_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    archive_max_span_s: int = Field(3600, ge=1)
    archive_idle_flush_s: int = Field(60, ge=0)

    # Commands (chatsync commands)
    commands_app_id: str = "chatsync-commands"
    commands_botapi_rate: float = Field(10.0, gt=0, le=1000)
    commands_mtproto_rate: float = Field(1.0, gt=0, le=100)
    commands_max_attempts: int = Field(8, ge=1, le=100)
    commands_retry_base_ms: int = Field(500, ge=1, le=600_000)
    commands_retry_max_ms: int = Field(30_000, ge=1, le=3_600_000)
    commands_avatar_refresh_days: float = Field(7.0, ge=0, le=3650)
    commands_avatar_refresh_batch: int = Field(200, ge=1, le=100_000)
    commands_avatar_refresh_interval_s: float = Field(3600.0, ge=0.1, le=86_400)

    # Process
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"
    chatsync_var_dir: Path = Path("var")
    api_host: str = "127.0.0.1"
    api_port: int = Field(8080, ge=1, le=65535)
    api_workers: int = Field(1, ge=1, le=64)
    admin_session_secret: SecretStr | None = None

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _servers_are_host_port(cls, value: str) -> str:
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"expected host:port[,host:port...], got {server.strip()!r}")
        return value

    @field_validator("worker_store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if value not in ("rocksdb://", "memory://"):
            raise ValueError("expected rocksdb:// or memory://")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _database_url_is_postgres(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            scheme = urlsplit(value.get_secret_value()).scheme
            if not scheme.startswith("postgresql"):
                raise ValueError("must be a postgresql:// or postgresql+asyncpg:// URL")
        return value

    @field_validator("dynamodb_endpoint_url", "s3_endpoint_url", "telegram_webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"expected an http(s):// URL, got {value!r}")
            return value
        return None

    @model_validator(mode="after")
    def _telethon_pair(self) -> Settings:
        if (self.tg_api_id is None) != (self.tg_api_hash is None):
            raise ValueError("TG_API_ID and TG_API_HASH must be set together")
        return self

    @cached_property
    def sqlalchemy_url(self) -> str:
        """The async SQLAlchemy URL (``postgresql+asyncpg://``), from DATABASE_URL or POSTGRES_*."""
        if self.database_url is not None:
            url = self.database_url.get_secret_value()
            scheme, rest = url.split("://", 1)
            return f"postgresql+asyncpg://{rest}" if scheme == "postgresql" else url
        password = self.postgres_password.get_secret_value()
        return (
            f"postgresql+asyncpg://{self.postgres_user}:{password}"
            f"@{self.postgres_host}:{self.postgres_port}/{self.postgres_db}"
        )

    @property
    def var_dir(self) -> Path:
        return self.chatsync_var_dir.resolve()

    def require(self, field: str) -> object:
        """Return a setting that the current command cannot do without, or raise ConfigError."""
        value = getattr(self, field)
        if value is None:
            raise ConfigError(f"{field.upper()} is not set: this command needs it")
        return value


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning a validation error into a one-line ConfigError naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]).upper() or "SETTINGS"
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{name}: {message}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
