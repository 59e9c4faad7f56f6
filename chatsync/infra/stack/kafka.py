"""Apache Kafka 3.9.1 in KRaft mode (one node, broker and controller), on the local JDK.

Why 3.9: it is the last Apache Kafka line that still serves every protocol version aiokafka and
faust-streaming use; Kafka 4.0 removed old request versions (KIP-896) that those clients still send.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
import uuid
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from chatsync.infra.stack import process
from chatsync.infra.stack.component import Component, Endpoint
from chatsync.infra.stack.errors import StackError
from chatsync.infra.stack.maven import java_executable, resolve_classpath

KAFKA_VERSION = "3.9.1"
_MAIN = "kafka.Kafka"
_LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.controller=INFO
log4j.logger.state.change.logger=WARN
"""


def new_cluster_id() -> str:
    """A random KRaft cluster id (URL-safe base64 of a UUID), never starting with ``-``: the
    storage tool would read such an id as an option and refuse to format (as Kafka's own
    ``Uuid.randomUuid`` avoids)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaComponent(Component):
    name = "kafka"
    marker = f"kafka-{KAFKA_VERSION}.properties"

    def __init__(self, var_dir: Path, listener: Endpoint, controller_port: int) -> None:
        super().__init__(var_dir)
        self._listener = listener
        self._controller = Endpoint(listener.host, controller_port)

    @property
    def endpoint(self) -> Endpoint:
        return self._listener

    @property
    def _config_file(self) -> Path:
        return self.home / self.marker

    @property
    def _data_dir(self) -> Path:
        return self.home / "data"

    def _classpath(self) -> str:
        cache = self.var_dir / "lib" / f"kafka-{KAFKA_VERSION}.classpath"
        return ":".join(str(p) for p in resolve_classpath("kafka.xml", cache))

    def server_properties(self) -> str:
        listener, controller = self._listener, self._controller
        return "\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@{controller}",
            f"listeners=PLAINTEXT://{listener},CONTROLLER://{controller}",
            f"advertised.listeners=PLAINTEXT://{listener}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            f"log.dirs={self._data_dir}",
            "num.partitions=1",
            # A single node: internal topics with one replica, so groups and transactions work.
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=10",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=10",
            "default.replication.factor=1",
            "min.insync.replicas=1",
            "group.initial.rebalance.delay.ms=0",
            # Topics are declared in code and created by `chatsync infra up`.
            "auto.create.topics.enable=false",
            "log.retention.check.interval.ms=60000",
            "",
        ])  # fmt: skip

    def prepare(self) -> None:
        classpath = self._classpath()
        self.home.mkdir(parents=True, exist_ok=True)
        self._config_file.write_text(self.server_properties())
        (self.home / "log4j.properties").write_text(_LOG4J)
        if (self._data_dir / "meta.properties").exists():
            return
        cluster_id = new_cluster_id()
        result = subprocess.run(
            [*self._java(classpath), "kafka.tools.StorageTool", "format",
             "-t", cluster_id, "-c", str(self._config_file), "--ignore-formatted"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise StackError(f"kafka storage format failed: {result.stdout}{result.stderr}".strip())

    def _java(self, classpath: str) -> list[str]:
        return [
            java_executable(), "-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{self.home / 'log4j.properties'}",
            f"-Dkafka.logs.dir={self.home}", "-cp", classpath,
        ]  # fmt: skip

    def start(self) -> None:
        command = [*self._java(self._classpath()), _MAIN, str(self._config_file)]
        process.spawn(command, pid_file=self.pid_file, log_file=self.log_file, cwd=self.home)

    async def probe(self) -> None:
        # A plain connect first: aiokafka logs an ERROR line for every refused connection.
        _, writer = await asyncio.open_connection(self._listener.host, self._listener.port)
        writer.close()
        await writer.wait_closed()
        admin = AIOKafkaAdminClient(bootstrap_servers=str(self._listener), request_timeout_ms=5000)
        await admin.start()
        try:
            await admin.list_topics()
        finally:
            await admin.close()
