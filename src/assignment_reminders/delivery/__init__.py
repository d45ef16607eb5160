"""Delivery of reminders over email and webhooks: ``reminder_deliveries`` is the queue.

Import from the modules (``delivery.service``, ``delivery.channels``, ...): this package imports
nothing, so reading a setting (``config`` -> ``delivery.signing``) loads no channel.
"""
