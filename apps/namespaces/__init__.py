"""Namespaces and the one family of authorization functions (`can`, `visible`)."""
