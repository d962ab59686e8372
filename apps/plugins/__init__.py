"""The host side of plugins: the public SDK, the registry, discovery and the schema API."""
