"""SUPABASE_URL, REMINDERS_CRON_SECRET and REMINDERS_CORS_ORIGINS: read, checked, never shown."""

from __future__ import annotations

import pytest

from assignment_reminders.auth.principal import cron_secret_matches
from assignment_reminders.config import Secret, Settings
from assignment_reminders.exceptions import ConfigurationError

CRON_SECRET = "0123456789abcdef0123456789abcdef"


def test_supabase_url_gives_issuer_and_jwks_url() -> None:
    auth = Settings.from_env({"SUPABASE_URL": "https://abcd.supabase.co/"}).auth
    assert auth.issuer == "https://abcd.supabase.co/auth/v1"
    assert auth.jwks_url == "https://abcd.supabase.co/auth/v1/.well-known/jwks.json"
    assert auth.verifies_user_tokens
    assert not Settings.from_env({}).auth.verifies_user_tokens


def test_cron_secret_is_read_and_hidden() -> None:
    settings = Settings.from_env({"REMINDERS_CRON_SECRET": CRON_SECRET})
    assert settings.auth.cron_secret == Secret(CRON_SECRET)
    assert CRON_SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"SUPABASE_URL": "abcd.supabase.co"}, "SUPABASE_URL must be the project's URL"),
        ({"REMINDERS_CRON_SECRET": "short"}, "at least 32 characters"),
        ({"REMINDERS_CRON_SECRET": f" {CRON_SECRET}"}, "without surrounding spaces"),
        ({"REMINDERS_CRON_SECRET": f"sb_secret_{CRON_SECRET}"}, "not a Supabase API key"),
        ({"REMINDERS_CRON_SECRET": f"eyJ{CRON_SECRET}"}, "not a Supabase API key or JWT"),
        ({"REMINDERS_CORS_ORIGINS": "*, https://a.example"}, "cannot be mixed"),
        ({"REMINDERS_CORS_ORIGINS": "a.example"}, "origins like https://"),
        ({"REMINDERS_CORS_ORIGINS": "https://a.example/app"}, "no path"),
        ({"REMINDERS_CORS_ORIGINS": "https://*.example"}, "REMINDERS_CORS_ORIGINS"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words) as caught:
        Settings.from_env(env)
    assert CRON_SECRET not in str(caught.value)


def test_cors_origins_are_a_list_without_trailing_slashes() -> None:
    env = {"REMINDERS_CORS_ORIGINS": " https://app.example.org/ ,http://localhost:3000,"}
    assert Settings.from_env(env).http.cors_origins == (
        "https://app.example.org",
        "http://localhost:3000",
    )
    assert Settings.from_env({}).http.cors_origins == ()
    assert Settings.from_env({"REMINDERS_CORS_ORIGINS": "*"}).http.cors_origins == ("*",)


def test_cron_secret_comparison() -> None:
    secret = Secret(CRON_SECRET)
    assert cron_secret_matches(CRON_SECRET, secret)
    assert not cron_secret_matches(CRON_SECRET[:-1], secret)
    assert not cron_secret_matches(CRON_SECRET + "0", secret)
    assert not cron_secret_matches("", secret)
    assert not cron_secret_matches(None, secret)
    assert not cron_secret_matches(CRON_SECRET, None)
