"""The orchestration runtime of executions: see README.md."""
