"""The cron endpoint when the lock connection is unfit (fake run_job; no database)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from assignment_reminders.api import create_app
from assignment_reminders.config import Settings
from assignment_reminders.exceptions import TransactionPoolerError
from tests.jwt_tokens import SECRET, bearer


def refuse(*args: Any, **kwargs: Any) -> Any:
    raise TransactionPoolerError("the lock connection to x is transaction-pooled: use y")


def test_a_refused_lock_connection_answers_503_with_the_fix() -> None:
    settings = Settings.from_env({"REMINDERS_JWT_SECRET": SECRET})
    transport = httpx.ASGITransport(app=create_app(settings, run_job=refuse))

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(
                "/functions/v1/assignment-reminder-cron",
                headers=bearer("service_role", expires_in=60),
                json={},
            )

    response = asyncio.run(call())
    assert response.status_code == 503, response.text
    assert response.json() == {
        "status": "failed",
        "detail": "the lock connection to x is transaction-pooled: use y",
    }
