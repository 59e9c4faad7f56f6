"""The replay tools' defaults, read from the settings when Settings declares them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatsync.replay.config import ReplayConfig
from chatsync.settings import Settings


def test_defaults_apply_while_settings_do_not_declare_the_fields(tmp_path: Path) -> None:
    config = ReplayConfig.from_settings(Settings(_env_file=None, chatsync_var_dir=tmp_path))
    assert config.archive_group == "chatsync-archiver"
    assert config.archive_prefix == "raw"
    assert (config.archive_max_bytes, config.archive_max_span_s) == (64 * 1024 * 1024, 3600)
    assert config.archive_idle_flush_s == 60
    assert config.replay_dir == tmp_path.resolve() / "replay"


def test_declared_settings_win(tmp_path: Path) -> None:
    class Declared(Settings):
        archive_group: str = "g2"
        archive_max_bytes: int = 1024

    settings: Any = Declared(_env_file=None, chatsync_var_dir=tmp_path)
    config = ReplayConfig.from_settings(settings)
    assert (config.archive_group, config.archive_max_bytes) == ("g2", 1024)
    assert config.archive_prefix == "raw"
