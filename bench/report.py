"""The convention every benchmark follows: measure the subject and a baseline in the same run on the
same machine, then print one JSON object with both and their ratios (``emit``)."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from typing import Any


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(terse=True),
    }


def emit(
    name: str,
    subject: dict[str, float],
    baseline: dict[str, float],
    *,
    params: dict[str, Any],
    ratios: dict[str, float],
    notes: str = "",
) -> dict[str, Any]:
    """Print (and return) the benchmark's result as one JSON object on stdout."""
    result = {
        "benchmark": name,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "params": params,
        "subject": subject,
        "baseline": baseline,
        "ratios": {key: round(value, 3) for key, value in ratios.items()},
        "notes": notes,
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return result
