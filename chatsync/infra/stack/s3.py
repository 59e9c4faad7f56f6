"""S3Proxy (Maven Central): an S3-compatible HTTP server on loopback, objects kept on disk."""

from __future__ import annotations

from pathlib import Path

import aioboto3

from chatsync.infra.stack import process
from chatsync.infra.stack.component import Component, Endpoint
from chatsync.infra.stack.maven import java_executable, resolve_classpath

S3PROXY_VERSION = "2.9.0"
_MAIN = "org.gaul.s3proxy.Main"


class S3Component(Component):
    name = "s3"
    marker = _MAIN

    def __init__(
        self, var_dir: Path, endpoint: Endpoint, region: str, access_key: str, secret_key: str
    ) -> None:
        super().__init__(var_dir)
        self._endpoint, self._region = endpoint, region
        self._access_key, self._secret_key = access_key, secret_key

    @property
    def endpoint(self) -> Endpoint:
        return self._endpoint

    @property
    def _config_file(self) -> Path:
        return self.home / "s3proxy.properties"

    def _classpath(self) -> str:
        cache = self.var_dir / "lib" / f"s3proxy-{S3PROXY_VERSION}.classpath"
        return ":".join(str(p) for p in resolve_classpath("s3proxy.xml", cache))

    def prepare(self) -> None:
        self._classpath()
        (self.home / "data").mkdir(parents=True, exist_ok=True)
        self._config_file.write_text("\n".join([
            f"s3proxy.endpoint=http://{self._endpoint}",
            "s3proxy.authorization=aws-v2-or-v4",
            f"s3proxy.identity={self._access_key}",
            f"s3proxy.credential={self._secret_key}",
            "jclouds.provider=filesystem",
            f"jclouds.filesystem.basedir={self.home / 'data'}",
            "",
        ]))  # fmt: skip
        self._config_file.chmod(0o600)

    def start(self) -> None:
        command = [
            java_executable(), "-Xms64m", "-Xmx384m", "-Djava.awt.headless=true",
            "-cp", self._classpath(), _MAIN, "--properties", str(self._config_file),
        ]  # fmt: skip
        process.spawn(command, pid_file=self.pid_file, log_file=self.log_file, cwd=self.home)

    async def probe(self) -> None:
        session = aioboto3.Session()
        async with session.client(
            "s3", endpoint_url=f"http://{self._endpoint}", region_name=self._region,
            aws_access_key_id=self._access_key, aws_secret_access_key=self._secret_key,
        ) as client:  # fmt: skip
            await client.list_buckets()
