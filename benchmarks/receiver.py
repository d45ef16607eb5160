"""Local receivers for the delivery benchmark, run as their own process so that they do not
share the sender's interpreter: ``python -m benchmarks.receiver webhook|smtp``.

Prints ``PORT <n>`` when ready; prints ``COUNT <n>`` (messages accepted) and exits when its
standard input closes.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Counter:
    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.value += 1


_accept = Counter()


class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _accept()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


class Smtp:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        _accept()
        return "250 OK"


def main(kind: str) -> None:
    if kind == "webhook":
        server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = int(server.server_address[1])
    else:
        import socket

        from aiosmtpd.controller import Controller

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        controller = Controller(Smtp(), hostname="127.0.0.1", port=port)
        controller.start()
    print(f"PORT {port}", flush=True)
    sys.stdin.read()
    print(f"COUNT {_accept.value}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
