"""Weir's Django project configuration."""
