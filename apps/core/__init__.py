"""Shared kernel: errors, typed registry helpers, API plumbing, the `weir` command."""
