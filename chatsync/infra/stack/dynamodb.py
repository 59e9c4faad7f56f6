"""DynamoDB Local, AWS's own emulator, from Maven Central (needs JRE 17+)."""

from __future__ import annotations

from pathlib import Path

import aioboto3

from chatsync.infra.stack import process
from chatsync.infra.stack.component import Component, Endpoint
from chatsync.infra.stack.errors import StackError
from chatsync.infra.stack.maven import java_executable, resolve_classpath

DYNAMODB_LOCAL_VERSION = "2.6.1"
_MAIN = "com.amazonaws.services.dynamodbv2.local.main.ServerRunner"


class DynamoDBComponent(Component):
    name = "dynamodb"
    marker = _MAIN

    def __init__(self, var_dir: Path, endpoint: Endpoint, region: str) -> None:
        super().__init__(var_dir)
        self._endpoint, self._region = endpoint, region

    @property
    def endpoint(self) -> Endpoint:
        return self._endpoint

    def _classpath(self) -> tuple[str, Path]:
        """The jars, and the directory of the sqlite4java native library Maven fetched."""
        cache = self.var_dir / "lib" / f"dynamodb-local-{DYNAMODB_LOCAL_VERSION}.classpath"
        entries = resolve_classpath("dynamodb.xml", cache)
        natives = [e for e in entries if e.name.startswith("libsqlite4java-linux-amd64")]
        if not natives:
            raise StackError(
                "DynamoDB Local needs sqlite4java's linux-amd64 library; Maven gave none"
            )
        jars = ":".join(str(e) for e in entries if e.suffix == ".jar")
        return jars, natives[0].parent

    def prepare(self) -> None:
        self._classpath()
        (self.home / "data").mkdir(parents=True, exist_ok=True)

    def storage_options(self) -> list[str]:
        """Where DynamoDB Local keeps its tables: SQLite files under ``home/data``."""
        return ["-dbPath", str(self.home / "data")]

    def start(self) -> None:
        jars, native_dir = self._classpath()
        command = [
            java_executable(), "-Xms64m", "-Xmx512m", "-Djava.awt.headless=true",
            f"-Dsqlite4java.library.path={native_dir}", "-cp", jars, _MAIN,
            "-port", str(self._endpoint.port), *self.storage_options(), "-sharedDb",
            "-disableTelemetry",
        ]  # fmt: skip
        process.spawn(command, pid_file=self.pid_file, log_file=self.log_file, cwd=self.home)

    async def probe(self) -> None:
        session = aioboto3.Session()
        async with session.client(
            "dynamodb", endpoint_url=f"http://{self._endpoint}", region_name=self._region,
            aws_access_key_id="probe", aws_secret_access_key="probe",  # noqa: S106 - local emulator
        ) as client:  # fmt: skip
            await client.list_tables(Limit=1)
