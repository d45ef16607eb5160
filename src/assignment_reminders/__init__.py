"""assignment-reminders: exactly-once contact reminders for peer-mentoring programmes."""

__version__ = "0.1.0"
