"""Schemathesis over the API's own OpenAPI document, against a real `chatsync api` process on the
real stack: whatever the generated input, no route answers with a 5xx."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from chatsync.infra.stack.stack import Stack
from tests.conftest import free_port, stack_environment

pytestmark = pytest.mark.e2e


@dataclass
class LiveApi:
    base_url: str
    token: str


def _chatsync(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "chatsync", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout


@pytest.fixture(scope="module")
def live_api(local_stack: Stack) -> Iterator[LiveApi]:
    port = free_port()
    env = {**os.environ, **stack_environment(), "API_PORT": str(port), "LOG_LEVEL": "WARNING"}
    token = _chatsync(env, "tokens", "create", "--user-id", "424242").strip().splitlines()[-1]
    server = subprocess.Popen([sys.executable, "-m", "chatsync", "api"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.25)
        yield LiveApi(base, token)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def api_schema(live_api: LiveApi) -> Any:
    return schemathesis.openapi.from_url(f"{live_api.base_url}/openapi.json")


def test_no_input_produces_a_server_error(api_schema: Any, live_api: LiveApi) -> None:
    headers = {"Authorization": f"Bearer {live_api.token}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 8

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case: Any) -> None:
            case.call_and_validate(
                base_url=live_api.base_url, headers=headers, checks=[not_a_server_error]
            )

        call()
