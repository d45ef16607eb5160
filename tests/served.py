"""`reminders serve` as a real process on a free local port, for acceptance tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.conftest import reminders_cmd, wait_for
from tests.receivers import free_port


@contextmanager
def served(env: dict[str, str], *args: str) -> Iterator[str]:
    """Start `reminders serve` with *args*; yield its base URL once /health answers."""
    port = free_port()
    proc = subprocess.Popen(
        reminders_cmd("serve", "--port", str(port), *args),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            return httpx.get(f"{base}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(up, timeout=60)
        yield base
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
