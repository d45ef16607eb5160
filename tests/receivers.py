"""Real local receivers for delivery tests: an SMTP server (aiosmtpd) and an HTTP server.

Both can be told to refuse the first *fail_first* attempts of each message (keyed by the email
``Message-ID`` or the webhook's ``webhook-id``), to take *delay* seconds over each (a slow
receiver), and record what they accepted and when each attempt arrived. Given a ``whsec_``
secret, the HTTP receiver verifies every request with the Standard Webhooks reference library
(PyPI ``standardwebhooks``), as a real receiver would, and answers 401 to one that fails.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

WEBHOOK_SECRET: Final = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 bytes of key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Recorder:
    """Attempts and accepted messages per idempotency key, thread-safe."""

    fail_first: int = 0
    fail_status: int = 500
    # (key, attempt number) -> "ok", "fail" (fail_status) or "lost" (accepted, then the
    # connection drops before the answer: the sender cannot know it arrived); default: fail_first
    script: Callable[[str, int], str] | None = None
    delay: float = 0.0  # seconds each attempt takes before it is answered (after it is counted)
    attempts: Counter[str] = field(default_factory=Counter)
    arrived: dict[str, list[float]] = field(default_factory=dict)  # clock() at each attempt
    clock: Callable[[], float] = time.monotonic  # read once per attempt, as it arrives
    accepted: dict[str, list[Any]] = field(default_factory=dict)
    arrivals: list[Any] = field(default_factory=list)  # accepted items, in order
    rejected: list[str] = field(default_factory=list)  # why signature checks failed
    lock: threading.Lock = field(default_factory=threading.Lock)
    open_connections: int = 0  # client connections open now, at most ever, in all
    peak_connections: int = 0
    connections_total: int = 0

    def attempt(self, key: str, item: Any) -> bool:
        """Count an attempt; True (and record *item*) when it is accepted."""
        return self.verdict(key, item) != "fail"

    def verdict(self, key: str, item: Any) -> str:
        """Count an attempt and decide it (see *script*); records *item* unless "fail"."""
        with self.lock:
            self.attempts[key] += 1
            self.arrived.setdefault(key, []).append(self.clock())
            n = self.attempts[key]
            if self.script is not None:
                verdict = self.script(key, n)
            else:
                verdict = "fail" if n <= self.fail_first else "ok"
            if verdict != "fail":
                self.accepted.setdefault(key, []).append(item)
                self.arrivals.append(item)
            return verdict

    def connection_opened(self) -> None:
        with self.lock:
            self.open_connections += 1
            self.connections_total += 1
            self.peak_connections = max(self.peak_connections, self.open_connections)

    def connection_closed(self) -> None:
        with self.lock:
            self.open_connections -= 1

    @property
    def accepted_total(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.accepted.values())


class _WebhookHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorder: Recorder
    secret: str | None

    def setup(self) -> None:  # one handler per connection (keep-alive: many requests)
        super().setup()
        self.recorder.connection_opened()

    def finish(self) -> None:
        super().finish()
        self.recorder.connection_closed()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        key = self.headers.get("webhook-id", "")
        item = {"headers": dict(self.headers.items()), "body": body, "json": json.loads(body)}
        if self.secret is not None and not self._verified(body):
            status = 401
        else:
            verdict = self.recorder.verdict(key, item)
            time.sleep(self.recorder.delay)  # a slow receiver (its own thread per connection)
            if verdict == "lost":
                self.close_connection = True  # no answer at all
                return
            status = 200 if verdict == "ok" else self.recorder.fail_status
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _verified(self, body: bytes) -> bool:
        from standardwebhooks import Webhook
        from standardwebhooks.webhooks import WebhookVerificationError

        assert self.secret is not None
        try:
            Webhook(self.secret).verify(body, dict(self.headers.items()))
        except WebhookVerificationError as exc:
            with self.recorder.lock:
                self.recorder.rejected.append(str(exc))
            return False
        return True

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def webhook_receiver(recorder: Recorder, *, secret: str | None = None) -> Iterator[str]:
    """Serve on 127.0.0.1 in a thread; yields the URL. With *secret*, requests are verified."""
    handler = type("Handler", (_WebhookHandler,), {"recorder": recorder, "secret": secret})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/reminders"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _SmtpHandler:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        key = str(message["Message-ID"])
        accepted = self.recorder.attempt(key, message)
        await asyncio.sleep(self.recorder.delay)  # a slow receiver
        if not accepted:
            return "451 4.3.0 try again later"
        return "250 OK"


@contextmanager
def smtp_receiver(recorder: Recorder) -> Iterator[tuple[str, int]]:
    """An aiosmtpd server on 127.0.0.1; yields (host, port)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    class CountingSMTP(SMTP):
        def connection_made(self, transport: Any) -> None:
            recorder.connection_opened()
            super().connection_made(transport)

        def connection_lost(self, error: Exception | None) -> None:
            super().connection_lost(error)
            recorder.connection_closed()

    class CountingController(Controller):
        def factory(self) -> SMTP:
            return CountingSMTP(self.handler, **self.SMTP_kwargs)

    port = free_port()
    controller = CountingController(_SmtpHandler(recorder), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port
    finally:
        controller.stop()


@dataclass
class Requests:
    """What a :func:`request_receiver` got: ``(method, path with query, body)``, in order."""

    status: int = 200
    seen: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self) -> list[str]:
        with self.lock:
            return [path for _, path, _ in self.seen]


class _RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    requests: Requests

    def _record(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.requests.lock:
            self.requests.seen.append((self.command, self.path, body.decode()))
        self.send_response(self.requests.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_HEAD = _record

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def request_receiver(requests: Requests) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 recording every request; yields its base URL."""
    handler = type("Handler", (_RecordingHandler,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
