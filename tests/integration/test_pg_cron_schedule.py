"""supabase/optional/pg_cron_schedule.sql: the scheduled call carries the job's secret from Vault.

pg_cron, pg_net and Vault are not in the test PostgreSQL, so this test stands in for the three
functions and the view the file uses, with their Supabase signatures: ``cron.schedule`` keeps the
job, ``net.http_post`` records the request instead of sending it, ``vault.decrypted_secrets``
reads a plain table. The recorded request is then sent to the real API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from assignment_reminders.api.app import create_app
from assignment_reminders.config import Settings
from assignment_reminders.db.database import Connection
from assignment_reminders.db.optional_sql import optional_sql

CRON_SECRET = "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f"
BASE_URL = "http://testserver"

STAND_INS = """
CREATE SCHEMA cron;
CREATE TABLE cron.job (jobid bigserial PRIMARY KEY, jobname text UNIQUE, schedule text,
                       command text);
CREATE FUNCTION cron.schedule(job_name text, schedule text, command text) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO cron.job (jobname, schedule, command) VALUES (job_name, schedule, command)
    ON CONFLICT (jobname) DO UPDATE SET schedule = excluded.schedule, command = excluded.command
    RETURNING jobid
$$;
CREATE SCHEMA net;
CREATE TABLE net.http_request_queue (id bigserial PRIMARY KEY, url text, body jsonb,
                                     headers jsonb, timeout_milliseconds int);
CREATE FUNCTION net.http_post(url text, body jsonb DEFAULT '{}', params jsonb DEFAULT '{}',
    headers jsonb DEFAULT '{"Content-Type": "application/json"}',
    timeout_milliseconds int DEFAULT 5000) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO net.http_request_queue (url, body, headers, timeout_milliseconds)
    VALUES (url, body, headers, timeout_milliseconds) RETURNING id
$$;
CREATE SCHEMA vault;
CREATE TABLE vault.secrets (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text UNIQUE,
                            secret text);
CREATE VIEW vault.decrypted_secrets AS SELECT id, name, secret AS decrypted_secret
FROM vault.secrets;
CREATE FUNCTION vault.create_secret(new_secret text, new_name text DEFAULT NULL) RETURNS uuid
LANGUAGE sql AS $$ INSERT INTO vault.secrets (name, secret) VALUES (new_name, new_secret)
RETURNING id $$;
"""


def schedule_file() -> str:
    """The file as shipped, minus its two CREATE EXTENSION lines (the stand-ins are here)."""
    text = optional_sql("pg_cron_schedule")
    extensions = re.findall(r"^CREATE EXTENSION IF NOT EXISTS (pg_cron|pg_net)\b", text, re.M)
    assert extensions == ["pg_cron", "pg_net"]
    return re.sub(r"^CREATE EXTENSION .*$", "", text, flags=re.M)


def test_pg_net_is_created_in_schema_extensions_not_public() -> None:
    """Security Advisor lint 0014 (extension_in_public); pg_cron's control file fixes pg_catalog."""
    statements = re.findall(r"^CREATE EXTENSION [^;]*;", optional_sql("pg_cron_schedule"), re.M)
    assert statements == [
        "CREATE EXTENSION IF NOT EXISTS pg_cron;",
        "CREATE EXTENSION IF NOT EXISTS pg_net WITH SCHEMA extensions;",
    ]


@pytest.fixture
def supabase_bits(database_url: str) -> Iterator[Connection]:
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute(STAND_INS.encode())
    with psycopg.connect(database_url, autocommit=True, row_factory=psycopg.rows.dict_row) as c:
        yield c


def test_refuses_to_schedule_before_the_secrets_are_in_vault(supabase_bits: Connection) -> None:
    supabase_bits.execute("SELECT vault.create_secret(%s, 'reminders_base_url')", (BASE_URL,))
    with pytest.raises(psycopg.errors.RaiseException, match="store reminders_cron_secret in"):
        supabase_bits.execute(schedule_file().encode())
    assert supabase_bits.execute("SELECT count(*) AS n FROM cron.job").fetchone() == {"n": 0}


def test_the_scheduled_call_carries_the_vault_secret_and_runs_the_job(
    supabase_bits: Connection, database_url: str
) -> None:
    supabase_bits.execute("SELECT vault.create_secret(%s, 'reminders_base_url')", (BASE_URL + "/",))
    supabase_bits.execute("SELECT vault.create_secret(%s, 'reminders_cron_secret')", (CRON_SECRET,))
    supabase_bits.execute(schedule_file().encode())
    supabase_bits.execute(schedule_file().encode())  # applying it again updates the one job
    jobs = supabase_bits.execute("SELECT jobname, schedule, command FROM cron.job").fetchall()
    assert [(j["jobname"], j["schedule"]) for j in jobs] == [
        ("assignment-reminder-cron", "0 5 * * *")
    ]
    assert CRON_SECRET not in jobs[0]["command"]  # the secret stays in Vault

    supabase_bits.execute(jobs[0]["command"].encode())  # what pg_cron does at 05:00 UTC
    request = supabase_bits.execute("SELECT * FROM net.http_request_queue").fetchone()
    assert request is not None
    assert request["url"] == f"{BASE_URL}/functions/v1/assignment-reminder-cron"
    assert request["headers"]["Authorization"] == f"Bearer {CRON_SECRET}"

    settings = Settings.from_env(
        {"DATABASE_URL": database_url, "REMINDERS_CRON_SECRET": CRON_SECRET}
    )
    with TestClient(create_app(settings), base_url=BASE_URL) as client:  # what pg_net sends
        r = client.post(request["url"], json=request["body"], headers=request["headers"])
    assert r.status_code == 200, r.text
    row = supabase_bits.execute("SELECT status FROM reminders.cron_execution_logs").fetchone()
    assert row == {"status": "success"}
