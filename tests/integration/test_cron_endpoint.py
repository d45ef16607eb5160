"""POST /functions/v1/assignment-reminder-cron: the same code path as `reminders run`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assignment_reminders.api.app import create_app
from assignment_reminders.config import Settings
from assignment_reminders.db.database import Connection
from assignment_reminders.locking.lock import LOCK_KEY
from tests import factories
from tests.dispatch_counts import dispatch_count
from tests.jwt_tokens import SECRET, bearer
from tests.receivers import WEBHOOK_SECRET, Recorder, webhook_receiver

URL = "/functions/v1/assignment-reminder-cron"
LATER = {"now": "2026-11-28T06:00:00+01:00", "allow_distant_now": True}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = Settings.from_env({"DATABASE_URL": database_url, "REMINDERS_JWT_SECRET": SECRET})
    with TestClient(create_app(settings)) as c:
        yield c


def test_service_role_token_runs_the_job(client: TestClient, conn: Connection) -> None:
    factories.assignment(conn, starts_on=date(2026, 11, 10))
    response = client.post(
        URL, headers=bearer(), json={"now": "2026-11-28T06:00:00+01:00", "allow_distant_now": True}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    assert body["counts"]["reminders_created"] == 1
    assert body["delivery"] is None  # no channel is configured: no delivery step ran
    row = conn.execute(
        "SELECT status, trigger_source FROM reminders.cron_execution_logs"
    ).fetchone()
    assert row == {"status": "success", "trigger_source": "http"}


def test_the_body_counts_what_the_delivery_step_delivered_and_failed(
    database_url: str, conn: Connection
) -> None:
    for _ in range(3):
        factories.assignment(conn, starts_on=date(2026, 11, 10))
    recorder = Recorder(fail_first=1)  # each message's first attempt is refused: one retry each
    with webhook_receiver(recorder, secret=WEBHOOK_SECRET) as hook:
        env = {
            "DATABASE_URL": database_url,
            "REMINDERS_JWT_SECRET": SECRET,
            "REMINDERS_WEBHOOK_URL": hook,
            "REMINDERS_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
        with TestClient(create_app(Settings.from_env(env))) as client:
            first = client.post(URL, headers=bearer(), json=LATER)
            # their backoff has passed (the drain claims by the real clock, not the run's now)
            conn.execute(
                "UPDATE reminders.reminder_deliveries SET next_attempt_at = clock_timestamp()"
                " WHERE status = 'pending'"
            )
            second = client.post(URL, headers=bearer(), json=LATER)
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    created = dispatch_count(conn)
    assert created == 3
    assert first.json()["delivery"] == {"delivered": 0, "retried": 3, "dead": 0, "cancelled": 0}
    assert second.json()["delivery"] == {"delivered": 3, "retried": 0, "dead": 0, "cancelled": 0}
    assert recorder.accepted_total == created


def test_lock_held_elsewhere_answers_200_skipped(
    client: TestClient, conn: Connection, database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        response = client.post(URL, headers=bearer())
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["note"]) == ("skipped", "advisory_lock_held")


def test_failed_run_answers_500_with_the_outcome(client: TestClient, conn: Connection) -> None:
    factories.assignment(conn, starts_on=date(2026, 11, 10))
    conn.execute("ALTER TABLE peer_mentors RENAME TO peer_mentors_gone")
    response = client.post(URL, headers=bearer())
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["outcome"]["status"] == "failed"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, 401),
        ({"Authorization": "Basic abc"}, 401),
        ({"Authorization": "Bearer not-a-jwt"}, 401),
        (bearer(secret="another-secret-another-secret-xx"), 401),
        (bearer(expires_in=-10), 401),
        (bearer("anon"), 403),
        (bearer("authenticated"), 403),
    ],
)
def test_only_service_role_tokens_may_call(
    client: TestClient, conn: Connection, headers: dict[str, str], code: int
) -> None:
    response = client.post(URL, headers=headers)
    assert response.status_code == code
    assert "detail" in response.json()
    assert conn.execute("SELECT count(*) AS n FROM reminders.cron_execution_logs").fetchone() == {
        "n": 0
    }


def test_naive_now_is_422_naming_the_field(client: TestClient) -> None:
    response = client.post(URL, headers=bearer(), json={"now": "2026-11-28T06:00:00"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["now"]


def test_health_needs_no_database_and_ready_checks_it(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready"}


def test_ready_reports_pending_migrations(empty_database_url: str) -> None:
    settings = Settings.from_env({"DATABASE_URL": empty_database_url})
    with TestClient(create_app(settings)) as c:
        response = c.get("/ready")
    assert response.status_code == 503
    assert response.json()["detail"] == "migrations pending"


def database_now(conn: Connection) -> datetime:
    row = conn.execute("SELECT now() AS now").fetchone()
    assert row is not None
    now: datetime = row["now"]
    return now


def run_count(conn: Connection) -> int:
    row = conn.execute("SELECT count(*) AS n FROM reminders.cron_execution_logs").fetchone()
    assert row is not None
    return int(row["n"])


def test_a_now_far_from_the_database_clock_is_422_naming_now_and_nothing_runs(
    client: TestClient, conn: Connection
) -> None:
    """Issue 18 item 7: this `now` created 307,533 reminders before."""
    factories.assignment(conn, starts_on=date(2026, 1, 1))
    response = client.post(URL, headers=bearer(), json={"now": "9999-12-31T23:59:59+14:00"})
    assert response.status_code == 422, response.text
    body = response.json()
    assert [e["field"] for e in body["errors"]] == ["now"]
    assert "24 hours" in body["detail"] and '"allow_distant_now": true' in body["detail"]
    assert run_count(conn) == 0
    assert dispatch_count(conn) == 0


@pytest.mark.parametrize(("hours", "code"), [(-25, 422), (25, 422), (-23, 200), (23, 200)])
def test_the_limit_is_24_hours_either_way(
    client: TestClient, conn: Connection, hours: int, code: int
) -> None:
    moment = database_now(conn) + timedelta(hours=hours)
    response = client.post(URL, headers=bearer(), json={"now": moment.isoformat()})
    assert response.status_code == code, response.text
    assert run_count(conn) == (1 if code == 200 else 0)


def test_allow_distant_now_runs_a_distant_moment(client: TestClient, conn: Connection) -> None:
    factories.assignment(conn, starts_on=date(2026, 1, 1))
    response = client.post(
        URL, headers=bearer(), json={"now": "2030-01-01T06:00:00+00:00", "allow_distant_now": True}
    )
    assert response.status_code == 200, response.text
    assert response.json()["counts"]["reminders_created"] == 1
    assert run_count(conn) == 1


@pytest.mark.parametrize("flag", ["true", 1, "yes", None])
def test_allow_distant_now_is_a_json_boolean(
    client: TestClient, conn: Connection, flag: object
) -> None:
    body = {"now": "2030-01-01T06:00:00+00:00", "allow_distant_now": flag}
    response = client.post(URL, headers=bearer(), json=body)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["allow_distant_now"]
    assert run_count(conn) == 0


MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2),  # a day of slack: any offset keeps it a valid moment
    max_value=datetime(9999, 12, 30),
    timezones=st.timezones(),
)
OFFSETS = st.timedeltas(min_value=timedelta(hours=-14), max_value=timedelta(hours=14)).map(
    lambda d: timezone(timedelta(minutes=d // timedelta(minutes=1)))
)
GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=30),
    st.lists(st.integers(), max_size=2),
    MOMENTS.map(lambda m: m.replace(tzinfo=None).isoformat()),  # no offset
)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@given(data=st.data())
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_now_runs_far_from_the_database_clock_and_garbage_is_422(
    client: TestClient, conn: Connection, data: st.DataObject
) -> None:
    """Every `now` and `allow_distant_now` a caller can send: a run (200) only for a moment
    within 24 hours of the database's clock (or one said to be meant); everything else a 422
    naming the field, nothing written."""
    clock = database_now(conn)
    # the strategies never depend on the clock (hypothesis replays them): the moment near it is
    # made here from a drawn distance and offset
    if data.draw(st.booleans(), label="near the clock"):
        distance = data.draw(
            st.timedeltas(min_value=timedelta(hours=-48), max_value=timedelta(hours=48)),
            label="distance",
        )
        moment = (clock + distance).astimezone(data.draw(OFFSETS, label="offset"))
    else:
        moment = data.draw(MOMENTS, label="moment")
    now = data.draw(st.one_of(st.just(moment.isoformat()), GARBAGE), label="now")
    # true (a distant run that is meant) is test_allow_distant_now_runs_a_distant_moment's
    flag = data.draw(st.one_of(st.just(False), GARBAGE.filter(lambda v: v is not True)))
    before = (run_count(conn), dispatch_count(conn))
    body = {"now": now} if flag is False else {"now": now, "allow_distant_now": flag}
    response = client.post(URL, headers=bearer(), json=body)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        fields = {e["field"] for e in response.json()["errors"]}
        assert fields and fields <= {"now", "allow_distant_now"}, response.text
        assert (run_count(conn), dispatch_count(conn)) == before
    else:
        assert flag is False and (now is None or now == moment.isoformat())
        assert run_count(conn) == before[0] + 1
    if now == moment.isoformat() and flag is False:  # a valid moment, nothing said
        distance = abs(moment - clock)
        if distance > timedelta(hours=24, seconds=5):
            assert response.status_code == 422
            assert "24 hours" in response.json()["detail"]
        elif distance < timedelta(hours=24, seconds=-5):
            assert response.status_code == 200
