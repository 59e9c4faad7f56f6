"""Shared by the HTTP benchmarks: a server subprocess on a free port, and a load generator."""

from __future__ import annotations

import asyncio
import socket
import statistics
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    body: bytes | None = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(
    command: list[str], env: dict[str, str], port: int, wait_s: float = 120
) -> Iterator[str]:
    """Run ``command`` until the port answers; yield its base URL; stop it afterwards."""
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            raise TimeoutError(f"{command} did not listen on {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


async def closed_loop(
    requests: Sequence[Request], concurrency: int, headers: dict[str, str]
) -> dict[str, float]:
    """Every request once, ``concurrency`` at a time; rate and latency percentiles."""
    latencies: list[float] = []
    failures = 0
    pending = iter(requests)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:

        async def worker() -> None:
            nonlocal failures
            for request in pending:
                started = time.perf_counter()
                async with http.request(request.method, request.url, data=request.body) as response:
                    await response.read()
                    failures += response.status >= 400
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return figures(latencies, elapsed, failures)


def figures(latencies: list[float], elapsed: float, failures: int) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "failures": failures,
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000, 2),
    }
