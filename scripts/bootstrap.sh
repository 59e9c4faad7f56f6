#!/usr/bin/env bash
# Installs everything chatsync needs on this machine, idempotently:
#  - system packages (JDK 17+, Maven, PostgreSQL server, kcat, docker-compose) when missing and we may;
#  - a virtualenv in .venv with the pinned Python dependencies (constraints.txt) and chatsync itself.
# Java artifacts (Kafka, DynamoDB Local, S3Proxy) are fetched by Maven on the first `chatsync infra up`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

need_packages=()
command -v java >/dev/null || need_packages+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need_packages+=(maven)
if ! command -v pg_ctl >/dev/null && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  need_packages+=(postgresql)
fi
command -v kcat >/dev/null || need_packages+=(kcat)
command -v docker-compose >/dev/null || need_packages+=(docker-compose)
[ -x /usr/bin/chromium ] || need_packages+=(chromium)  # browser tests (Playwright drives it)

if [ ${#need_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing system packages: ${need_packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null
  else
    # kcat and docker-compose are optional (the tests that use them are skipped without them);
    # without the others `chatsync infra up` stops with a line that says what to install.
    echo "bootstrap: not root or no apt-get; install these yourself: ${need_packages[*]}" >&2
  fi
fi

"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"bootstrap: Python 3.11+ is needed, {sys.version.split()[0]} found (set PYTHON=...)")
PY

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
echo "bootstrap: ready ($("$VENV/bin/python" --version), $(java -version 2>&1 | head -1))"
