"""The HTTP API served by ``reminders serve`` (``api.app.create_app``)."""
