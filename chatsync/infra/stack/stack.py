"""The local stack as a whole: build the components from settings, bring them up, down, report."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from chatsync.infra.stack.component import Component, Endpoint
from chatsync.infra.stack.dynamodb import DynamoDBComponent
from chatsync.infra.stack.errors import StackError
from chatsync.infra.stack.kafka import KafkaComponent
from chatsync.infra.stack.postgres import PostgresComponent
from chatsync.infra.stack.provision import provision
from chatsync.infra.stack.s3 import S3Component
from chatsync.settings import Settings

log = logging.getLogger(__name__)
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
HEALTH_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    name: str
    address: str
    running: bool
    healthy: bool
    detail: str

    @property
    def state(self) -> str:
        if self.healthy:
            return "healthy"
        return "unhealthy" if self.running else "down"


def _loopback(name: str, host: str | None, port: int | None) -> Endpoint:
    if host not in _LOOPBACK or port is None:
        raise StackError(f"{name} must point at loopback host:port for the local stack, got {host}")
    return Endpoint("127.0.0.1" if host == "localhost" else host, port)


def _url_endpoint(name: str, url: str | None) -> Endpoint:
    if not url:
        raise StackError(f"{name} is not set: the local stack needs a loopback URL")
    parts = urlsplit(url)
    return _loopback(name, parts.hostname, parts.port)


def build_components(settings: Settings) -> list[Component]:
    """The four servers, bound to the addresses the client settings point at."""
    var_dir = settings.var_dir
    kafka_host, _, kafka_port = settings.kafka_bootstrap_servers.split(",")[0].rpartition(":")
    db_url = make_url(settings.sqlalchemy_url)
    secret = settings.aws_secret_access_key.get_secret_value()
    return [
        KafkaComponent(var_dir, _loopback("KAFKA_BOOTSTRAP_SERVERS", kafka_host, int(kafka_port)),
                       settings.kafka_controller_port),
        PostgresComponent(var_dir, _loopback("DATABASE_URL", db_url.host, db_url.port or 5432),
                          db_url.username or "postgres", db_url.password or "",
                          db_url.database or "postgres"),
        DynamoDBComponent(var_dir, _url_endpoint("DYNAMODB_ENDPOINT_URL",
                                                 settings.dynamodb_endpoint_url),
                          settings.aws_region),
        S3Component(var_dir, _url_endpoint("S3_ENDPOINT_URL", settings.s3_endpoint_url),
                    settings.aws_region, settings.aws_access_key_id, secret),
    ]  # fmt: skip


class Stack:
    """Idempotent control of the local stack described by one Settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.components = build_components(settings)

    def component(self, name: str) -> Component:
        for component in self.components:
            if component.name == name:
                return component
        names = ", ".join(c.name for c in self.components)
        raise StackError(f"no component {name!r}; the stack has {names}")

    async def up(self) -> list[ComponentStatus]:
        """Start what is not running, wait until all are healthy, then provision (idempotent)."""
        self.settings.var_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        await asyncio.gather(*(self.ensure_up(c) for c in self.components))
        await provision(self.settings)
        log.info("stack healthy in %.1f s", time.monotonic() - started)
        return await self.status()

    async def ensure_up(self, component: Component) -> None:
        """Start one component if it is not running and wait until it answers."""
        if component.is_running() and await _probe(component) is None:
            log.info("%s already up at %s", component.name, component.endpoint)
            return
        if component.is_running():
            log.info("%s is running but not answering yet; waiting", component.name)
        else:
            _require_free_port(component)
            await asyncio.to_thread(component.prepare)
            log.info("starting %s at %s", component.name, component.endpoint)
            await asyncio.to_thread(component.start)
        await self._wait_healthy(component)

    async def _wait_healthy(self, component: Component) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        error: str | None = "not probed"
        while time.monotonic() < deadline:
            error = await _probe(component)
            if error is None:
                log.info("%s healthy", component.name)
                return
            if not component.is_running():
                break
            await asyncio.sleep(0.5)
        tail = "\n  ".join(component.last_log_lines(15))
        raise StackError(
            f"{component.name} did not become healthy at {component.endpoint}: {error}\n"
            f"  last lines of {component.log_file}:\n  {tail}"
        )

    async def down(self) -> list[str]:
        """Stop every component (in reverse order); return the names that were running."""
        stopped = []
        for component in reversed(self.components):
            if await asyncio.to_thread(component.stop):
                stopped.append(component.name)
                log.info("stopped %s", component.name)
        return stopped

    async def status(self) -> list[ComponentStatus]:
        async def one(component: Component) -> ComponentStatus:
            running = component.is_running()
            error = await _probe(component) if running else "not running"
            return ComponentStatus(component.name, str(component.endpoint), running,
                                   error is None, error or "ok")  # fmt: skip

        return list(await asyncio.gather(*(one(c) for c in self.components)))

    def log_file(self, name: str) -> Path:
        return self.component(name).log_file


def _require_free_port(component: Component) -> None:
    """A port taken by another process would make the start fail obscurely: say so up front."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((component.endpoint.host, component.endpoint.port))
        except OSError:
            raise StackError(
                f"{component.name}: {component.endpoint} is in use by another process "
                f"(another chatsync stack or server?); stop it or choose another port"
            ) from None


async def _probe(component: Component) -> str | None:
    """None when the component answers a real request, else a short reason."""
    try:
        await asyncio.wait_for(component.probe(), timeout=10)
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"; reported, not hidden
        return f"{type(exc).__name__}: {exc}"[:200] or type(exc).__name__
    return None
