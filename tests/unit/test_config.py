"""Settings from an environment mapping; secrets never printed."""

from __future__ import annotations

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
        ({"REMINDERS_BATCH_SIZE": "0"}, "REMINDERS_BATCH_SIZE must be at least 1"),
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
