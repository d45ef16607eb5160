"""HTTP request durations, per process: ``reminders_http_request_duration_seconds``.

A plain ASGI middleware times every request and labels it with the method, the route template
(``/activities/{activity_id}``, never the raw path, so ids do not multiply the series; requests no
route matched are ``unmatched``) and the status code. Each replica counts its own requests, as
Prometheus expects of a process metric; the job metrics beside them come from the database.

prometheus_client would also serve a ``..._created`` gauge family per histogram (in the text
format, a family of its own whose name ends in a suffix OpenMetrics reserves); it is turned off
(:func:`prometheus_client.disable_created_metrics`, for this process's metrics).
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, disable_created_metrics
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"

disable_created_metrics()  # type: ignore[no-untyped-call]  # no `<family>_created` families


class HttpMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.duration = Histogram(
            "reminders_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and status code.",
            labelnames=("method", "route", "status"),
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.duration.labels(method, route, str(status)).observe(seconds)


def route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.metrics.observe(
                scope["method"], route_template(scope), status, time.perf_counter() - started
            )
