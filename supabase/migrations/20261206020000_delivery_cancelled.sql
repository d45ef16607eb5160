-- Nothing stale is delivered (issue 18): an email or webhook whose reminder no longer applies when
-- a worker claims it ends 'cancelled', with the reason and the time, instead of being sent.
--
-- Reasons, judged by the claim (sql/delivery.sql: claim_deliveries) in this order:
--   assignment_ended   the assignment's status is 'ended', or its ends_on is before the
--                      organization's today;
--   assignment_paused  its status is anything else but 'active' ('paused');
--   gap_closed         the assignment's current gap start, coalesce(last_contact_date, starts_on),
--                      is no longer the reminder's gap_started_on: a contact was registered (or the
--                      date corrected) after the reminder was written.
--
-- Cancelled rows are settled like 'sent' and 'dead': the queue's partial index
-- (reminder_deliveries_due_idx, status IN ('pending', 'sending')) never holds them.
--
-- One ALTER TABLE: the checks are validated in one scan of the table, under its ACCESS EXCLUSIVE
-- lock (writers of deliveries wait for it; the table holds one row per reminder and channel).

ALTER TABLE reminders.reminder_deliveries
    DROP CONSTRAINT reminder_deliveries_status_valid,
    ADD CONSTRAINT reminder_deliveries_status_valid
        CHECK (status IN ('pending', 'sending', 'sent', 'dead', 'cancelled')),
    ADD COLUMN cancel_reason text
        CONSTRAINT reminder_deliveries_cancel_reason_valid
        CHECK (cancel_reason IN ('assignment_ended', 'assignment_paused', 'gap_closed')),
    ADD COLUMN cancelled_at timestamptz,
    ADD CONSTRAINT reminder_deliveries_cancelled_why_and_when
        CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL AND cancelled_at IS NOT NULL));

COMMENT ON COLUMN reminders.reminder_deliveries.cancel_reason IS
    'Why a cancelled delivery was not sent: assignment_ended, assignment_paused or gap_closed '
    '(judged when a worker claimed it; docs/delivery.md).';
