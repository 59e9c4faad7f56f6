"""A PostgreSQL server from the machine's own packages (Debian's ``postgresql``), on loopback.

PostgreSQL refuses to run as root; when we are root the server runs as the ``postgres`` system
user that the Debian package creates, with its data in a directory that user owns.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import asyncpg

from chatsync.infra.stack.component import Component, Endpoint
from chatsync.infra.stack.errors import StackError

_SEARCH_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
_SERVICE_USER = "postgres"


def find_bin_dir() -> Path:
    """The directory holding ``initdb``/``pg_ctl`` (PG_BIN_DIR, the PATH, or Debian's layout)."""
    configured = os.environ.get("PG_BIN_DIR")
    candidates = [Path(configured)] if configured else []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    candidates.extend(_SEARCH_DIRS)
    for candidate in candidates:
        if (candidate / "pg_ctl").exists() and (candidate / "initdb").exists():
            return candidate
    raise StackError(
        "PostgreSQL server not found: install it (Debian: apt-get install postgresql) "
        "or set PG_BIN_DIR to the directory with initdb and pg_ctl"
    )


class PostgresComponent(Component):
    name = "postgres"
    marker = "postgres"

    def __init__(
        self, var_dir: Path, endpoint: Endpoint, user: str, password: str, db: str
    ) -> None:
        super().__init__(var_dir)
        self._endpoint, self._user, self._password, self._db = endpoint, user, password, db
        self._as_root = os.geteuid() == 0
        self.home = self._home_dir(var_dir)

    @property
    def endpoint(self) -> Endpoint:
        return self._endpoint

    @property
    def _data_dir(self) -> Path:
        return self.home / "data"

    def _home_dir(self, var_dir: Path) -> Path:
        """``<var>/postgres``, unless the service user cannot reach it (e.g. under /root)."""
        home = var_dir / self.name
        if not self._as_root or self._service_user_can_reach(var_dir):
            return home
        digest = hashlib.sha256(str(var_dir).encode()).hexdigest()[:12]
        return Path("/var/tmp/chatsync") / digest / self.name  # noqa: S108 - fixed, root-owned

    def _service_user_can_reach(self, path: Path) -> bool:
        path.mkdir(parents=True, exist_ok=True)
        check = subprocess.run(
            ["runuser", "-u", _SERVICE_USER, "--", "test", "-x", str(path)], check=False
        )
        return check.returncode == 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(find_bin_dir() / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", _SERVICE_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise StackError(f"{args[0]} failed: {(result.stdout + result.stderr).strip()}")
        return result

    def prepare(self) -> None:
        find_bin_dir()
        (self.home / "run").mkdir(parents=True, exist_ok=True)
        if self._as_root:
            shutil.chown(self.home, _SERVICE_USER, _SERVICE_USER)
            shutil.chown(self.home / "run", _SERVICE_USER, _SERVICE_USER)
        if (self._data_dir / "PG_VERSION").exists():
            return
        password_file = self.home / "initdb.pw"
        password_file.write_text(self._password + "\n")
        password_file.chmod(0o600)
        if self._as_root:
            shutil.chown(password_file, _SERVICE_USER, _SERVICE_USER)
        try:
            self._run(
                "initdb", "-D", str(self._data_dir), "-U", self._user, "--pwfile",
                str(password_file), "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
                "-E", "UTF8", "--locale=C.UTF-8",
            )  # fmt: skip
        finally:
            password_file.unlink(missing_ok=True)

    def start(self) -> None:
        options = (
            f"-h {self._endpoint.host} -p {self._endpoint.port} -k {self.home / 'run'} "
            "-c max_connections=200 -c fsync=on"
        )
        self._run("pg_ctl", "-D", str(self._data_dir), "-l", str(self.log_file), "-o", options,
                  "-w", "-t", "60", "start")  # fmt: skip

    def is_running(self) -> bool:
        return (self._data_dir / "PG_VERSION").exists() and (
            self._run("pg_ctl", "-D", str(self._data_dir), "status", check=False).returncode == 0
        )

    def stop(self) -> bool:
        if not self.is_running():
            return False
        self._run("pg_ctl", "-D", str(self._data_dir), "-m", "fast", "-w", "-t", "60", "stop")
        return True

    async def probe(self) -> None:
        connection = await asyncpg.connect(
            host=self._endpoint.host, port=self._endpoint.port, user=self._user,
            password=self._password, database="postgres", timeout=5,
        )  # fmt: skip
        try:
            await connection.execute("SELECT 1")
        finally:
            await connection.close()
