-- Named queries for registering activities and correcting last_contact_date.
-- "today" is always the organization's calendar day at the %(now)s the caller passes in.

-- name: register_activities
-- Who may register what, and the registration: one statement (supabase/schema.sql,
-- "Registering activities", says what comes back). No transaction around it: it is one.
SELECT item, refusal, time_zone, today, starts_on, id, assignment_id, occurred_on,
       registration_path, registered_by, note, last_contact_date
FROM reminders.register_activities(%(path)s, %(caller)s, %(assignment_ids)s::bigint[],
                                   %(dates)s::date[], %(notes)s::text[], %(now)s)

-- name: last_contact_dates
SELECT id AS assignment_id, last_contact_date FROM public.assignments WHERE id = ANY(%(ids)s::bigint[])

-- name: activity_owner
-- The activity to delete (locked), with who may delete it besides admins: whoever registered it,
-- its assignment's mentor, and the coordinators of its organization (%(caller)s is one).
SELECT act.id, act.assignment_id, act.registered_by, pm.user_id AS mentor_user_id,
       EXISTS (SELECT FROM public.coordinators c
               WHERE c.user_id = %(caller)s AND c.organization_id = a.organization_id)
           AS caller_coordinates
FROM public.activities act
JOIN public.assignments a ON a.id = act.assignment_id
JOIN public.peer_mentors pm ON pm.id = a.peer_mentor_id
WHERE act.id = %(id)s
FOR UPDATE OF act

-- name: delete_activity
DELETE FROM public.activities WHERE id = %(id)s

-- name: correction_target
SELECT a.id, a.starts_on, o.time_zone,
       (%(now)s::timestamptz AT TIME ZONE o.time_zone)::date AS today
FROM public.assignments a
JOIN public.organizations o ON o.id = a.organization_id
WHERE a.id = %(id)s
FOR UPDATE OF a

-- name: set_last_contact
SELECT id, assignment_id, old_date, new_date, reason, changed_by, changed_by_role,
       changed_by_name, changed_at
FROM reminders.set_last_contact_date(%(id)s, %(date)s, %(reason)s, %(changed_by)s,
                                  %(changed_by_role)s, %(changed_by_name)s, %(now)s)

-- name: correction_history
SELECT id, assignment_id, old_date, new_date, reason, changed_by, changed_by_role,
       changed_by_name, changed_at
FROM reminders.last_contact_corrections
WHERE assignment_id = %(id)s
ORDER BY changed_at DESC, id DESC

-- name: assignment_exists
SELECT EXISTS (SELECT FROM public.assignments WHERE id = %(id)s) AS found
