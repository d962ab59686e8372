"""Weir's project package. Loading it loads the Celery app, so every process (web, scheduler,
commands) publishes to the configured broker rather than Celery's default one."""

from config.celery import app as celery_app

__all__ = ("celery_app",)
