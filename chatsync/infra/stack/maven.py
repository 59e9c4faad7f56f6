"""Java artifacts from Maven Central, fetched and cached by Maven itself on first use.

Each Java component has a small POM beside this module that pins its artifacts. Maven resolves it
into a class path of jars in the local repository (``~/.m2``); we keep that class path in a file
under the var directory so later starts need neither Maven nor the network.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from chatsync.infra.stack.errors import StackError

_JAVA_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')
MINIMUM_JAVA = 17


def java_executable() -> str:
    """The ``java`` to run components with (17 or newer), or a StackError saying what to install."""
    java = shutil.which("java")
    if java is None:
        raise StackError(
            "java not found: install a JDK 17+ (Debian: apt-get install openjdk-17-jdk)"
        )
    output = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = _JAVA_VERSION.search(output)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0" style
        major = int(match.group(2))
    if major < MINIMUM_JAVA:
        raise StackError(f"java {major or '?'} found, {MINIMUM_JAVA}+ needed: install a newer JDK")
    return java


def resolve_classpath(pom_name: str, cache_file: Path) -> list[Path]:
    """Jars (and native libraries) for the POM ``pom_name``; Maven runs only on a cache miss."""
    cached = _read_cache(cache_file)
    if cached:
        return cached
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("mvn not found: install Apache Maven (Debian: apt-get install maven)")
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    with resources.as_file(resources.files("chatsync.infra.stack") / "maven" / pom_name) as pom:
        result = subprocess.run(
            [mvn, "-B", "-q", "-f", str(pom), "dependency:build-classpath",
             f"-Dmdep.outputFile={cache_file}", "-Dmdep.includeScope=runtime"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    if result.returncode != 0:
        cache_file.unlink(missing_ok=True)
        detail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise StackError(f"Maven could not resolve {pom_name}: " + " | ".join(detail))
    entries = _read_cache(cache_file)
    if not entries:
        raise StackError(f"Maven resolved {pom_name} to an empty class path")
    return entries


def _read_cache(cache_file: Path) -> list[Path]:
    """The cached class path, or [] when absent or when Maven's repository lost any of its files."""
    try:
        text = cache_file.read_text().strip()
    except FileNotFoundError:
        return []
    entries = [Path(part) for part in text.split(":") if part]
    return entries if entries and all(entry.exists() for entry in entries) else []
