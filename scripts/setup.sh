#!/usr/bin/env bash
# Installs everything Weir needs from scratch, idempotently: virtualenv, Python packages,
# npm packages and the front-end build, database migrations, a first admin user.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating virtualenv in .venv"
  "$PYTHON" -m venv .venv
fi
echo "==> installing Python packages"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

if [ -f frontend/package.json ]; then
  echo "==> installing npm packages and building the front end"
  if [ -f frontend/package-lock.json ]; then (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
  else (cd frontend && npm install --no-audit --no-fund --loglevel=error); fi
  (cd frontend && npm run build --silent)
fi

echo "==> migrating the database"
.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python manage.py ensure_admin
