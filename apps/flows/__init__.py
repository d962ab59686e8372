"""Flows: versioned YAML sources, strict parsing and validation, topology, import/export."""
