"""Users (custom model from the first migration), login pages and API tokens."""
