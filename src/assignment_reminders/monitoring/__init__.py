"""Knowing when the reminder job is unwell: checks, alert state, sinks, metrics, schedule.

See ``docs/monitoring.md``. The pieces, one idea each:

- :mod:`.checks`    pure functions of (execution log rows, now, thresholds) -> findings
- :mod:`.alerts`    alert state in ``reminders.monitoring_alerts``: one open incident per finding
- :mod:`.sinks`     where alerts go: the log (always), a Slack-compatible webhook, email
- :mod:`.truth`     one evaluation: the headline and the incident list from the same findings
- :mod:`.monitor`   one pass: read the log, evaluate, reconcile the state (or a dry run), notify
- :mod:`.incidents` acknowledging incidents; maintenance windows that mute the sinks
- :mod:`.watchdog`  the running process watching its own run for an overrun
- :mod:`.run_monitor` all of monitoring's part in a run (watchdog, pings, retention)
- :mod:`.retention` pruning old execution log rows
- :mod:`.cron`      a five-field cron expression in a time zone -> the next fire time
- :mod:`.service`   the built-in cron threads of ``reminders serve``
"""
