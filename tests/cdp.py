"""Just enough of the Chrome DevTools Protocol to drive headless Chromium like a person would:
navigate, type into a form and submit it, wait for the page's own refresh, resize to a phone,
take a screenshot. Spoken over ``--remote-debugging-pipe`` (fd 3 in, fd 4 out, messages ending
in NUL), so it needs no port and no websocket library."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.acceptance.test_monitoring_ops_page import CHROMIUM_FLAGS

FLAGS = (*CHROMIUM_FLAGS, "--hide-scrollbars")

Event = dict[str, Any]

# Puts the two pipe ends given by number on fds 3 and 4 (through copies above both, so neither
# is overwritten on the way), closes the rest, and becomes Chromium.
_LAUNCH = """
import fcntl, os, sys
ends = [fcntl.fcntl(int(fd), fcntl.F_DUPFD_CLOEXEC, 10) for fd in sys.argv[1:3]]
for fd in sys.argv[1:3]:
    os.close(int(fd))
os.dup2(ends[0], 3)
os.dup2(ends[1], 4)
os.execv(sys.argv[3], sys.argv[3:])
"""


class CdpError(AssertionError):
    """Chromium answered a command with an error, or did not answer in time."""


class Chromium:
    """One headless Chromium with one page; :meth:`close` (or ``with``) ends it."""

    def __init__(self, executable: str, profile: Path, *, width: int, height: int) -> None:
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _LAUNCH,
                str(to_browser_r),
                str(from_browser_w),
                executable,
                *FLAGS,
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._out = os.fdopen(to_browser_w, "wb", buffering=0)
        self._in = os.fdopen(from_browser_r, "rb", buffering=0)
        self._lock = threading.Condition()
        self._answers: dict[int, dict[str, Any]] = {}
        self.events: list[Event] = []
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session = ""
        self.open_page()

    def open_page(self) -> None:
        """A new tab (same cookies), which the methods below drive from now on."""
        target = self.command("Target.createTarget", url="about:blank")["targetId"]
        attached = self.command("Target.attachToTarget", targetId=target, flatten=True)
        self.session = attached["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.page(f"{domain}.enable")

    def _read(self) -> None:
        pending = b""
        while chunk := self._in.read(65536):
            pending += chunk
            *messages, pending = pending.split(b"\0")
            with self._lock:
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        self._answers[message["id"]] = message
                    else:
                        self.events.append(message)
                self._lock.notify_all()

    def command(
        self, method: str, *, session: str | None = None, timeout: float = 60, **params: Any
    ) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            at = self._next_id
        message: dict[str, Any] = {"id": at, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._out.write(json.dumps(message).encode() + b"\0")
        with self._lock:
            if not self._lock.wait_for(lambda: at in self._answers, timeout=timeout):
                raise CdpError(f"{method}: no answer within {timeout} s")
            answer = self._answers.pop(at)
        if "error" in answer:
            raise CdpError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    def page(self, method: str, **params: Any) -> dict[str, Any]:
        return self.command(method, session=self.session, **params)

    def mark(self) -> int:
        """A point in the event stream, for :meth:`wait_event`."""
        with self._lock:
            return len(self.events)

    def wait_event(
        self,
        method: str,
        since: int,
        where: Callable[[Event], bool] = lambda e: True,
        timeout: float = 60,
    ) -> Event:
        """The first *method* event after *since* that satisfies *where*."""

        def found() -> Event | None:
            return next(
                (e for e in self.events[since:] if e["method"] == method and where(e)), None
            )

        with self._lock:
            if not self._lock.wait_for(lambda: found() is not None, timeout=timeout):
                raise CdpError(f"no {method} event within {timeout} s")
            event = found()
        assert event is not None
        return event

    def evaluate(self, expression: str) -> Any:
        answer = self.page("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in answer:
            raise CdpError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def loaded(self, since: int, timeout: float = 60) -> None:
        """Wait for the load event of the page the last navigation brought."""
        self.wait_event("Page.loadEventFired", since, timeout=timeout)

    def navigate(self, url: str) -> None:
        since = self.mark()
        self.page("Page.navigate", url=url)
        self.loaded(since)

    def submit(self, form: str, **fields: str) -> None:
        """Fill the form's fields as typed and press its submit button; wait for the next page."""
        since = self.mark()
        assignments = "".join(
            f"f.elements[{json.dumps(k)}].value = {json.dumps(v)};" for k, v in fields.items()
        )
        self.evaluate(
            f"(() => {{ const f = document.querySelector({json.dumps(form)}); {assignments}"
            " f.requestSubmit(); })()"
        )
        self.loaded(since)

    def resize(self, width: int, height: int, *, mobile: bool) -> None:
        self.page(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )

    def screenshot(self, path: Path, *, full_page: bool = True) -> None:
        shot = self.page("Page.captureScreenshot", format="png", captureBeyondViewport=full_page)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self.command("Browser.close", timeout=10)
        except (CdpError, OSError):
            self.proc.kill()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._out.close()
        self._reader.join(timeout=10)
        self._in.close()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
