"""The entry points that start Weir: the `weir` command, the standalone loop, the dev server.

They sit above every app (they import whichever they start) and nothing in `apps` imports them.
The package imports no Django at module level: `weir flow validate` runs without settings.
"""
