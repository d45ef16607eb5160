"""Local receivers for the delivery benchmark, run as their own process so that they do not
share the sender's interpreter: ``python -m benchmarks.receiver webhook|smtp``.

Prints ``PORT <n>`` when ready; prints ``COUNT <messages accepted> PEAK <most connections open
at once> TOTAL <connections opened>`` and exits when its standard input closes.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any


class Counter:
    def __init__(self) -> None:
        self.value = 0
        self.open = self.peak = self.total = 0
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.value += 1

    def opened(self) -> None:
        with self.lock:
            self.open += 1
            self.total += 1
            self.peak = max(self.peak, self.open)

    def closed(self) -> None:
        with self.lock:
            self.open -= 1


_accept = Counter()


class Hook(asyncio.Protocol):
    """A minimal HTTP/1.1 keep-alive server: reads each request (headers + Content-Length body)
    and answers 200. Fast enough that the sender, not the receiver, is what gets measured."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""
        _accept.opened()

    def connection_lost(self, exc: Exception | None) -> None:
        _accept.closed()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            _accept()
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


def serve_webhook() -> int:
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(Hook, "127.0.0.1", 0))
    threading.Thread(target=loop.run_forever, daemon=True).start()
    return int(server.sockets[0].getsockname()[1])


class Smtp:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        _accept()
        return "250 OK"


def serve_smtp() -> int:
    import socket

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    class CountingSMTP(SMTP):
        def connection_made(self, transport: Any) -> None:
            _accept.opened()
            super().connection_made(transport)

        def connection_lost(self, error: Exception | None) -> None:
            super().connection_lost(error)
            _accept.closed()

    class CountingController(Controller):
        def factory(self) -> SMTP:
            return CountingSMTP(self.handler, **self.SMTP_kwargs)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    CountingController(Smtp(), hostname="127.0.0.1", port=port).start()
    return port


def main(kind: str) -> None:
    port = serve_webhook() if kind == "webhook" else serve_smtp()
    print(f"PORT {port}", flush=True)
    sys.stdin.read()
    with _accept.lock:
        print(f"COUNT {_accept.value} PEAK {_accept.peak} TOTAL {_accept.total}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
