-- Monitoring's `overlapping_runs` alert (docs/monitoring.md): two runs of the job that took the
-- lock worked at the same time. The alert kinds are a CHECK on monitoring_alerts; this adds one.
ALTER TABLE reminders.monitoring_alerts DROP CONSTRAINT monitoring_alerts_kind_valid;
ALTER TABLE reminders.monitoring_alerts ADD CONSTRAINT monitoring_alerts_kind_valid
    CHECK (kind IN ('overrun', 'missed_run', 'stuck_lock', 'failure', 'unlock_failed',
                    'overlapping_runs'));
