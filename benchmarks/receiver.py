"""Local receivers for the delivery benchmark, run as their own process so that they do not
share the sender's interpreter: ``python -m benchmarks.receiver webhook|smtp``.

Prints ``PORT <n>`` when ready; prints ``COUNT <n>`` (messages accepted) and exits when its
standard input closes.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any


class Counter:
    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.value += 1


_accept = Counter()


class Hook(asyncio.Protocol):
    """A minimal HTTP/1.1 keep-alive server: reads each request (headers + Content-Length body)
    and answers 200. Fast enough that the sender, not the receiver, is what gets measured."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

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


def main(kind: str) -> None:
    if kind == "webhook":
        port = serve_webhook()
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
