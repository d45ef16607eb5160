"""The HTTP API served by ``reminders serve``."""

from .app import create_app

__all__ = ["create_app"]
