"""The test session never points the embedded server at the developer's own data directory."""

from __future__ import annotations

import tempfile
from pathlib import Path

from assignment_reminders.config import Settings


def test_the_default_data_dir_is_the_sessions_throwaway_one(
    throwaway_default_data_dir: Path,
) -> None:
    assert Settings.from_env({}).data_dir == throwaway_default_data_dir
    assert throwaway_default_data_dir.is_relative_to(tempfile.gettempdir())
