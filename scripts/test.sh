#!/usr/bin/env bash
# Runs the whole test suite after the same set-up as `make run`.
# Uses PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set (CI sets them), SQLite otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing Debian's Chromium for browser tests"
  (apt-get update -qq && apt-get install -y -qq chromium) || echo "!!! could not install chromium"
fi
echo "==> ruff, mypy"
.venv/bin/ruff check .
.venv/bin/mypy apps config plugins
echo "==> front-end unit tests (vitest)"
(cd frontend && npm test --silent)
echo "==> pytest"
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
