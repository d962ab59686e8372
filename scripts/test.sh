#!/usr/bin/env bash
# Runs the whole test suite after the same set-up as `make run`.
# Uses PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set (CI sets them), SQLite otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)   # browser tests
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)   # the script tasks' sandbox
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  (apt-get update -qq && apt-get install -y -qq "${missing[@]}") || echo "!!! could not install ${missing[*]}"
fi
echo "==> ruff, mypy, import layers"
.venv/bin/ruff check .
.venv/bin/mypy apps config plugins conformance_runner
.venv/bin/lint-imports   # the layer contracts in pyproject.toml (docs/adr/0020)
echo "==> front-end unit tests (vitest)"
(cd frontend && npm test --silent)
echo "==> pytest"
# The engine checks its run index against a walk of every run on each step (apps/engine/planner.py).
export WEIR_ENGINE_CHECK=1
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
