"""Settings from an environment mapping; secrets never printed."""

from __future__ import annotations

import base64
import inspect
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from assignment_reminders.config import Secret, Settings, describe_database_url
from assignment_reminders.exceptions import ConfigurationError


def test_defaults_use_the_embedded_database() -> None:
    settings = Settings.from_env({})
    assert settings.uses_embedded_database
    assert settings.batch_size == 20000
    assert settings.data_dir.name == "pgdata"


def test_values_come_from_the_mapping() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://svc:pw@db.example:6543/app",
            "REMINDERS_DATA_DIR": "/srv/pg",
            "REMINDERS_BATCH_SIZE": "100",
            "SUPABASE_JWT_SECRET": "jwt-secret",
        }
    )
    assert not settings.uses_embedded_database
    assert settings.data_dir == Path("/srv/pg")
    assert settings.batch_size == 100
    assert settings.auth.jwt_secret == Secret("jwt-secret")


def test_secrets_are_hidden_from_repr_and_descriptions() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://svc:hunter2@db.example:5432/app",
            "REMINDERS_JWT_SECRET": "s3cr3t",
        }
    )
    text = repr(settings) + str(settings) + settings.describe_database()
    assert "hunter2" not in text
    assert "s3cr3t" not in text
    assert settings.describe_database() == "postgresql://svc@db.example:5432/app"


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"REMINDERS_BATCH_SIZE": "lots"}, "REMINDERS_BATCH_SIZE must be a whole number"),
        ({"REMINDERS_BATCH_SIZE": "0"}, "REMINDERS_BATCH_SIZE must be between 1 and"),
        ({"DATABASE_URL": "host=x port=5432 =broken"}, "DATABASE_URL is not a valid"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        Settings.from_env(env)


def test_bad_database_url_error_does_not_echo_it() -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env({"DATABASE_URL": "postgresql://u:topsecret@h:notaport/db?x=="})
    assert "topsecret" not in str(info.value)


def test_describe_unparseable_url_does_not_echo_it() -> None:
    assert "pw" not in describe_database_url("postgresql://u:pw@h:port/db")


def test_settings_come_in_frozen_sub_objects_with_literal_choices() -> None:
    settings = Settings.from_env(
        {
            "REMINDERS_LOCK_SCOPE": "Transaction",
            "REMINDERS_SMTP_TLS": "SSL",
            "REMINDERS_HTTP_PORT": "9000",
            "REMINDERS_BUILTIN_CRON": "off",
            "REMINDERS_DELIVERY_CONCURRENCY": "3",
            "REMINDERS_LOG_LEVEL": "debug",
        }
    )
    assert settings.lock.scope == "transaction"
    assert (settings.smtp.tls, settings.smtp.port) == ("ssl", 465)
    assert settings.http.port == 9000
    assert settings.schedule.enabled is False
    assert settings.delivery.concurrency == 3
    assert settings.log_level == "DEBUG"
    with pytest.raises(FrozenInstanceError):
        settings.http.port = 1  # type: ignore[misc]


WHSEC = "whsec_" + base64.b64encode(b"webhook-secret-of-32-bytes-long!").decode()


def test_no_secret_shows_in_the_repr_of_any_sub_object() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://a:pw-db@h/d",
            "REMINDERS_LOCK_DATABASE_URL": "postgresql://a:pw-lock@h/d",
            "REMINDERS_SMTP_PASSWORD": "pw-smtp",
            "REMINDERS_WEBHOOK_URL": "https://h/hook?token=pw-hook",
            "REMINDERS_WEBHOOK_SECRET": WHSEC,
            "REMINDERS_ALERT_WEBHOOK_URL": "https://h/alert/pw-alert",
            "REMINDERS_ALERT_WEBHOOK_SECRET": WHSEC,
            "REMINDERS_JWT_SECRET": "pw-jwt",
        }
    )
    assert "pw-" not in repr(settings)
    assert WHSEC.removeprefix("whsec_") not in repr(settings)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"REMINDERS_LOCK_IDLE_TIMEOUT_SECONDS": "inf"}, "must be a finite number of seconds"),
        ({"REMINDERS_LOCK_HEARTBEAT_SECONDS": "nan"}, "must be a finite number of seconds"),
        ({"REMINDERS_LOCK_HEARTBEAT_SECONDS": "1e400"}, "must be a finite number of seconds"),
        ({"REMINDERS_HTTP_PORT": "99999"}, "REMINDERS_HTTP_PORT must be between 1 and 65535"),
        ({"REMINDERS_BATCH_SIZE": "9" * 5000}, "REMINDERS_BATCH_SIZE must be a whole number"),
        ({"REMINDERS_BATCH_SIZE": "-5"}, "REMINDERS_BATCH_SIZE must be between 1"),
        ({"REMINDERS_BUILTIN_CRON": "maybe"}, "REMINDERS_BUILTIN_CRON must be true or false"),
        ({"REMINDERS_LOG_LEVEL": "loud"}, "REMINDERS_LOG_LEVEL must be one of DEBUG"),
        ({"REMINDERS_LOCK_ROLE": "r" * 64}, "REMINDERS_LOCK_ROLE must be a PostgreSQL role"),
        ({"REMINDERS_ALERT_WEBHOOK_URL": "file:///etc"}, "must be an http:// or https:// URL"),
        ({"REMINDERS_APP_URL": "javascript:alert(1)"}, "REMINDERS_APP_URL must be the app's"),
        (
            {"REMINDERS_SMTP_FROM": "Reminders <r@example.org>"},
            "REMINDERS_SMTP_FROM must be a plain",
        ),
        (
            {"REMINDERS_SMTP_FROM": "r@example.org\nBcc: x@example.org"},
            "REMINDERS_SMTP_FROM must be",
        ),
        ({"REMINDERS_APP_URL": "https://app.example.org/?x=1"}, "like https://app.example.org"),
        (
            {"REMINDERS_ALERT_EMAIL_TO": "ops@example.org"},  # no server: no alert would go
            "REMINDERS_ALERT_EMAIL_TO is set but REMINDERS_SMTP_HOST is not",
        ),
        (
            {"REMINDERS_ALERT_EMAIL_TO": "ops@example.org, oncall", "REMINDERS_SMTP_HOST": "h"},
            "REMINDERS_ALERT_EMAIL_TO must be a plain email address .*; got 'oncall'",
        ),
        (
            {"REMINDERS_ALERT_EMAIL_TO": "Ops <ops@example.org>", "REMINDERS_SMTP_HOST": "h"},
            "REMINDERS_ALERT_EMAIL_TO must be a plain email address",
        ),
    ],
)
def test_out_of_range_values_name_the_variable(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        Settings.from_env(env)


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    a_file = tmp_path / "pgdata"
    a_file.write_text("")
    with pytest.raises(ConfigurationError, match="REMINDERS_DATA_DIR must be a directory"):
        Settings.from_env({"REMINDERS_DATA_DIR": str(a_file)})
    assert Settings.from_env({"REMINDERS_DATA_DIR": str(tmp_path / "new")}).data_dir.name == "new"


def test_a_renamed_variable_is_refused_naming_the_new_one() -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env({"REMINDERS_SCHEDULER": "false"})
    assert str(info.value) == "REMINDERS_SCHEDULER was renamed REMINDERS_BUILTIN_CRON"
    assert Settings.from_env({"REMINDERS_BUILTIN_CRON": "false"}).schedule.enabled is False


def test_the_shortest_lease_is_the_one_the_delivery_drain_accepts() -> None:
    from assignment_reminders.config import SETTINGS
    from assignment_reminders.delivery.mail import EmailChannel
    from assignment_reminders.delivery.service import LEASE_MARGIN
    from assignment_reminders.delivery.webhook import WebhookChannel

    longest = max(
        inspect.signature(c.__init__).parameters["timeout"].default
        for c in (EmailChannel, WebhookChannel)
    )
    assert SETTINGS["delivery.lease_seconds"].lo == 2 * (longest + LEASE_MARGIN.total_seconds())
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"REMINDERS_DELIVERY_LEASE_SECONDS": "21"})
    assert (
        str(caught.value) == "REMINDERS_DELIVERY_LEASE_SECONDS must be between 22 and 86400, got 21"
    )
