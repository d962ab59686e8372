#!/usr/bin/env bash
# Runs every benchmark in bench/ in its --smoke mode (tiny sizes, seconds), so that no bench
# breaks unseen. Figures from a smoke run mean nothing; the exit code does.
# Files in bench/ that are not benchmarks themselves are listed in NOT_BENCHES.
set -euo pipefail
cd "$(dirname "$0")/.."
NOT_BENCHES=" raw_celery.py ui_logs.py screenshots.py "
PY=.venv/bin/python
failed=()
for path in bench/*.py; do
  name=$(basename "$path")
  case "$NOT_BENCHES" in *" $name "*) continue ;; esac
  echo "==> bench smoke: $name"
  started=$(date +%s)
  if timeout 600 "$PY" "$path" --smoke > "/tmp/weir-bench-smoke-$name.log" 2>&1; then
    echo "    ok in $(( $(date +%s) - started )) s: $(tail -n 1 "/tmp/weir-bench-smoke-$name.log")"
  else
    echo "!!! $name --smoke failed (exit $?); last lines:"
    tail -n 25 "/tmp/weir-bench-smoke-$name.log"
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench smoke failed: ${failed[*]}"
  exit 1
fi
echo "bench smoke: all passed"
