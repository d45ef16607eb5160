-- Dead letters by channel for the operator page (/ops): a partial index on the rows that gave up,
-- so the page counts them without reading the whole delivery history (the open rows already have
-- reminder_deliveries_due_idx). Dead rows are few; the index stays small.

CREATE INDEX reminder_deliveries_dead_idx ON reminders.reminder_deliveries (channel)
    WHERE status = 'dead';
