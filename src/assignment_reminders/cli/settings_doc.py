"""The table of settings in docs/configuration.md, made from their declarations
(``config.SETTINGS``), so the docs cannot drift from the code.

``python -m assignment_reminders.cli.settings_doc`` prints the table; with ``--write [PATH]``
it replaces the table between the markers of PATH (default ``docs/configuration.md``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..config import SETTINGS

BEGIN = "<!-- settings: python -m assignment_reminders.cli.settings_doc --write -->"
END = "<!-- end of settings -->"
SECTIONS = {
    "": "general",
    "auth": "API callers",
    "lock": "the lock",
    "smtp": "email",
    "delivery": "delivery",
    "http": "`reminders serve`",
    "schedule": "the built-in cron",
    "monitoring": "monitoring",
}


def table() -> str:
    """Every setting: variable(s), section, type and bounds, default, meaning."""
    rows = ["| variable | for | type | default | meaning |", "| --- | --- | --- | --- | --- |"]
    for path, s in SETTINGS.items():
        names = " or ".join(f"`{name}`" for name in (s.env, *s.aliases))
        section = SECTIONS[path.rpartition(".")[0]]
        meaning = s.help.replace("|", "\\|")
        rows.append(
            f"| {names} | {section} | {s.kind_label()} | `{s.shown_default()}` | {meaning} |"
        )
    return "\n".join(rows)


def spliced(doc: str) -> str:
    """*doc* with the text between its markers replaced by :func:`table`."""
    head, begin, rest = doc.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the settings table's markers are missing: {BEGIN} ... {END}")
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    if argv[:1] != ["--write"]:
        print(table())
        return 0
    path = Path(argv[1] if len(argv) > 1 else "docs/configuration.md")
    path.write_text(spliced(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
