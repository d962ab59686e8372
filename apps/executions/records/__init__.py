"""Rows and queries of executions: see README.md."""
