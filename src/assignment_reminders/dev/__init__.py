"""For developers, not the service: synthetic data (reminders seed) and make demo."""
