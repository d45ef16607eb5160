"""What the suite needs from outside Python: a missing piece fails the test, never skips it.

``make test`` installs every one of them (SYSTEM_PACKAGES, the Supabase CLI, the dev lock), so a
missing one is a broken install, locally as in CI: the failure says how to install it.
"""

from __future__ import annotations

from typing import NoReturn

import pytest


def missing(what: str, install: str) -> NoReturn:
    """Fail the current test: *what* is not installed; *install* is how to get it."""
    pytest.fail(f"{what} is not installed: {install}", pytrace=False)
