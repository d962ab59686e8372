"""The pure engine. Importing the package registers the behaviours that plug into the planner
(flowables, ForEachItem, retries: see `protocol`), so every consumer plans with the same engine."""

from apps.engine import flowables, foreachitem, retry  # noqa: F401  (they fill protocol's slots)
