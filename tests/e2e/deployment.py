"""One deployment of chatsync on the test stack, run as a user runs it (no tests here).

Its own topics, worker group, DynamoDB table and webhook secret (the PostgreSQL tables are the
stack's own, shared); `chatsync api`, `chatsync worker` and `chatsync sinks` as processes, and
other commands (`chatsync demo`, `chatsync import-export`, `chatsync reprocess`) run to their end.
"Caught up" is read from Kafka: the worker committed the end of its raw and internal topics, then
both sinks' groups committed the end of theirs. ``api_view`` is everything the REST API shows one
owner, page by page, following the ``next`` links.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsync.agents.sinks_cli import GROUP_PREFIX
from chatsync.infra.aws import dynamodb_client
from chatsync.infra.db import create_engine
from chatsync.infra.postgres.tokens import create_token
from chatsync.infra.stack.provision import provision
from chatsync.settings import Settings
from tests.conftest import ROOT, free_port, stack_environment
from tests.integration.test_realtime import _wait_ready
from tests.integration.test_sinks_harness import SinkRun
from tests.integration.worker_harness import WorkerRun

Process = subprocess.Popen[bytes]
SERVICES = ("api", "worker", "sinks")
TOPIC_FIELDS = ("topic_raw_botapi", "topic_raw_mtproto", "topic_deals", "topic_customers",
                "topic_messages", "topic_commands", "topic_dlq")  # fmt: skip
CAUGHT_UP_S = 600.0  # bounds a failure only; two shared cores, so generous
STOP_S = 60.0
# Small pages, so that every list is read over several of them.
DEAL_PAGE_SIZE = 2
MESSAGE_PAGE_SIZE = 4
EXPORT_FIXTURE = ROOT / "tests" / "fixtures" / "telegram_export" / "personal_chat"
OWNER_IN_FIXTURE = 5550001  # the account that made the fixture's export


@dataclass
class Deployment:
    run: str
    settings: Settings
    env: dict[str, str]
    engine: AsyncEngine
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    @property
    def sink_groups(self) -> dict[str, tuple[str, ...]]:
        """The consumer group of each sink (`chatsync sinks`' own names) -> its topics."""
        s = self.settings
        return {
            f"{GROUP_PREFIX}postgres": (s.topic_deals, s.topic_customers),
            f"{GROUP_PREFIX}dynamodb": (s.topic_messages,),
        }

    def log_path(self, name: str) -> str:
        return str(ROOT / "var" / f"{self.run}-{name}.log")

    def start(self, service: str) -> None:
        """`chatsync <service>` in the background, its output in var/<run>-<service>.log."""
        assert service not in self.processes or self.processes[service].poll() is not None
        with open(self.log_path(service), "ab") as log:
            self.processes[service] = subprocess.Popen(
                [sys.executable, "-m", "chatsync", service], env=self.env, cwd=ROOT,
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    async def stop(self, service: str) -> int:
        """SIGTERM, as a service manager stops it; SIGKILL only if it does not end in time."""
        process = self.processes.pop(service)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, STOP_S)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait, STOP_S)
        return int(process.returncode)

    async def start_api(self) -> None:
        self.start("api")
        await _wait_ready(self.api_url)
        assert self.processes["api"].poll() is None, f"see {self.log_path('api')}"

    async def chatsync(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`chatsync <args>` to its end; stdout and stderr together in ``stdout``."""
        return await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "chatsync", *args], env=self.env, cwd=ROOT,
            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600,
            check=False,
        )  # fmt: skip

    async def token(self, owner_user_id: int) -> str:
        return (await create_token(self.engine, user_id=owner_user_id, admin=False,
                                   name=self.run))[1]  # fmt: skip

    async def caught_up(self) -> None:
        """Wait until the worker drained its inputs and then both sinks drained theirs."""
        worker = WorkerRun(self.settings, processes=[self.processes["worker"]])
        await worker.drained(timeout_s=CAUGHT_UP_S)

        def sinks_running() -> None:
            assert self.processes["sinks"].poll() is None, f"see {self.log_path('sinks')}"

        await SinkRun(self.settings, self.engine).groups_drained(
            self.sink_groups, still_running=sinks_running, timeout_s=CAUGHT_UP_S
        )

    async def get(self, url: str, token: str) -> Any:
        async with httpx.AsyncClient(timeout=60) as client:
            response = await client.get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, f"{url}: {response.status_code} {response.text}"
        return response.json()

    async def pages(self, url: str, token: str) -> list[Any]:
        """Every page of a cursor-paginated list, following ``next`` from ``url``."""
        found: list[Any] = []
        next_url: str | None = url
        while next_url is not None:
            page = await self.get(next_url, token)
            found.append(page)
            next_url = page["next"]
            assert len(found) < 1000, "the pages never end"
        return found

    async def message_pages(self, deal_id: str, token: str) -> list[Any]:
        url = f"{self.api_url}/api/v1/deals/{deal_id}/messages/?page_size={MESSAGE_PAGE_SIZE}"
        return await self.pages(url, token)

    async def api_view(self, token: str) -> dict[str, Any]:
        """What the API shows the token's owner: every page of the deal list, each deal's
        detail and every page of each deal's messages."""
        deal_pages = await self.pages(
            f"{self.api_url}/api/v1/deals/?page_size={DEAL_PAGE_SIZE}", token
        )
        ids = [deal["id"] for page in deal_pages for deal in page["results"]]
        return {
            "deal_pages": deal_pages,
            "details": {i: await self.get(f"{self.api_url}/api/v1/deals/{i}/", token) for i in ids},
            "message_pages": {i: await self.message_pages(i, token) for i in ids},
        }


def personal_chat_export(folder: Path, owner_user_id: int, chat_id: int) -> Path:
    """The bundled one-chat export (tests/fixtures/telegram_export/personal_chat) as the account
    ``owner_user_id`` would export its chat with ``chat_id``: its result.json in ``folder``."""
    export = json.loads((EXPORT_FIXTURE / "result.json").read_text(encoding="utf-8"))
    people = {
        f"user{export['id']}": f"user{chat_id}",
        f"user{OWNER_IN_FIXTURE}": f"user{owner_user_id}",
    }
    export["id"] = chat_id
    for message in export["messages"]:
        for key in ("from_id", "actor_id"):
            if key in message:
                message[key] = people[message[key]]
    file = folder / "result.json"
    file.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    return file


def oldest_first(message_pages: list[Any]) -> list[Any]:
    """The messages of every page, oldest first (``next`` leads to older pages)."""
    return [message for page in reversed(message_pages) for message in page["results"]]


def _deployment_settings(base: Settings, run: str) -> Settings:
    topics = {
        name: f"{run}-{name.removeprefix('topic_').replace('_', '-')}" for name in TOPIC_FIELDS
    }
    return base.model_copy(update={
        **topics, "dynamodb_messages_table": f"{run}-messages", "worker_app_id": f"{run}-worker",
        "kafka_topic_partitions": 3, "api_port": free_port(),
    })  # fmt: skip


def _environment(settings: Settings) -> dict[str, str]:
    env = {
        **os.environ, **stack_environment(),
        **{name.upper(): getattr(settings, name) for name in TOPIC_FIELDS},
        "DYNAMODB_MESSAGES_TABLE": settings.dynamodb_messages_table,
        "WORKER_APP_ID": settings.worker_app_id, "WORKER_COMMIT_INTERVAL_MS": "500",
        "KAFKA_TOPIC_PARTITIONS": str(settings.kafka_topic_partitions),
        "API_PORT": str(settings.api_port), "LOG_LEVEL": "WARNING",
        "TELEGRAM_WEBHOOK_SECRET": f"secret-{uuid.uuid4().hex}",
    }  # fmt: skip
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return env


@contextlib.asynccontextmanager
async def open_deployment(base: Settings, name: str) -> AsyncIterator[Deployment]:
    """A provisioned deployment (topics and table created as `chatsync infra up` creates them);
    its processes are stopped and its table dropped on the way out."""
    run = f"{name}-{uuid.uuid4().hex[:8]}"
    settings = _deployment_settings(base, run)
    await provision(settings)
    engine = create_engine(settings, pool_size=2)
    deployment = Deployment(run, settings, _environment(settings), engine)
    try:
        yield deployment
    finally:
        for service in list(deployment.processes):
            await deployment.stop(service)
        async with dynamodb_client(settings) as client:
            with contextlib.suppress(client.exceptions.ResourceNotFoundException):
                await client.delete_table(TableName=settings.dynamodb_messages_table)
        await deployment.engine.dispose()
