"""benchmarks.docs_page.short_commit: what the docs table and benchmarks.versus call a checkout."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from benchmarks.docs_page import short_commit


def git(tree: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(tree), *args], check=True, capture_output=True)


def test_a_checkout_with_uncommitted_changes_is_not_named_as_its_commit(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("one\n")
    git(tmp_path, "add", "a.txt")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "one")
    git(tmp_path, "tag", "v1")  # a tag does not replace the hash
    clean = short_commit(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{7}", clean)
    (tmp_path / "a.txt").write_text("two\n")
    assert short_commit(tmp_path) == f"{clean}-dirty"
    assert short_commit(tmp_path / "nowhere") == "unknown"
