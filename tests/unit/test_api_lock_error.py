"""The cron endpoint when the lock connection is unfit (fake run_job; no database)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt

from assignment_reminders.api import create_app
from assignment_reminders.config import Settings
from assignment_reminders.exceptions import TransactionPoolerError


def refuse(*args: Any, **kwargs: Any) -> Any:
    raise TransactionPoolerError("the lock connection to x is transaction-pooled: use y")


def test_a_refused_lock_connection_answers_503_with_the_fix() -> None:
    settings = Settings.from_env({"REMINDERS_JWT_SECRET": "s" * 32})
    token = jwt.encode(
        {"role": "service_role", "exp": int(time.time()) + 60}, "s" * 32, algorithm="HS256"
    )
    transport = httpx.ASGITransport(app=create_app(settings, run_job=refuse))

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(
                "/functions/v1/assignment-reminder-cron",
                headers={"Authorization": f"Bearer {token}"},
                json={},
            )

    response = asyncio.run(call())
    assert response.status_code == 503, response.text
    assert response.json() == {
        "status": "failed",
        "detail": "the lock connection to x is transaction-pooled: use y",
    }
