# Weir: `make run` starts Weir standalone at http://127.0.0.1:8080; `make test` runs every test.
.PHONY: run test setup lint bench

setup:
	bash scripts/setup.sh

run: setup
	.venv/bin/weir standalone

test:
	bash scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/mypy apps config plugins conformance_runner && .venv/bin/lint-imports

bench:
	.venv/bin/python bench/flows.py
