"""A lint over migration files for what a Supabase project's non-superuser ``postgres`` cannot do.

Run by ``make check`` (``python -m assignment_reminders.db.migration_lint``, every file in
supabase/migrations/); each rule has a unit test (tests/unit/test_migration_lint.py). Comments and
the text of string literals are not read as SQL (dollar-quoted bodies are: a DO block or a
function runs its statements as the same role).

Rules:

* ``set-schema``: ``ALTER ... SET SCHEMA`` of anything but an extension. supautils before v2.6.0
  turns it into a silent no-op for a non-superuser: the object stays where it was.
* ``owner-to``: ``ALTER ... OWNER TO`` a role the migrating role cannot become (anything but
  ``postgres``, ``current_user`` or ``current_role``: e.g. supabase_admin or a superuser).
* ``superuser-only``: ``ALTER SYSTEM``, ``session_replication_role``, ``CREATE LANGUAGE`` of an
  untrusted language, ``COPY ... FROM/TO PROGRAM`` or a server file, ``ALTER ROLE ... SUPERUSER``,
  ``CREATE EVENT TRIGGER``, ``LOAD``: refused to a non-superuser.
* ``extension-schema``: ``CREATE EXTENSION`` without ``WITH SCHEMA extensions`` (Supabase keeps
  extensions there; the Security Advisor flags one in ``public``).
* ``cli-round-trip``: a file that ``supabase migration fetch`` would not give back byte for byte
  (:mod:`.statements`: no blank line right after a statement's ``;``, a newline after the last),
  or that holds what the CLI's splitter reads differently from PostgreSQL (``E'...'`` strings,
  nested block comments).
* ``version``: a file whose version is not a valid timestamp (``YYYYMMDDHHMMSS``): the CLI shows
  such a version raw in ``supabase migration list``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..figures import counted
from . import statements


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


_FLAGS = re.IGNORECASE | re.DOTALL
_SET_SCHEMA = re.compile(
    r"\bALTER\s+(?P<kind>[A-Z ]+?)\s+(?:IF\s+EXISTS\s+)?\S+.*?\bSET\s+SCHEMA\b", _FLAGS
)
_OWNER_TO = re.compile(r"\bOWNER\s+TO\s+(?P<role>\"[^\"]+\"|[A-Za-z_][A-Za-z0-9_]*)", _FLAGS)
_ALLOWED_OWNERS = {"postgres", "current_user", "current_role", "session_user"}
_SUPERUSER_ONLY: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bALTER\s+SYSTEM\b", _FLAGS), "ALTER SYSTEM"),
    (re.compile(r"\bsession_replication_role\b", _FLAGS), "session_replication_role"),
    (
        re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:UNTRUSTED\s+)?LANGUAGE\s+\w*u\b", _FLAGS),
        "an untrusted language",
    ),
    (
        re.compile(r"\bLANGUAGE\s+(?:plpython3u|plperlu|pltclu|c)\b", _FLAGS),
        "an untrusted language",
    ),
    (
        re.compile(r"\bCOPY\b[^;]*?\b(?:FROM|TO)\s+(?:PROGRAM\b|'/)", _FLAGS),
        "COPY of a server file",
    ),
    (re.compile(r"\bALTER\s+ROLE\b[^;]*?\bSUPERUSER\b", _FLAGS), "ALTER ROLE ... SUPERUSER"),
    (re.compile(r"\bCREATE\s+(?:ROLE|USER)\b[^;]*?\bSUPERUSER\b", _FLAGS), "a SUPERUSER role"),
    (re.compile(r"\bCREATE\s+EVENT\s+TRIGGER\b", _FLAGS), "CREATE EVENT TRIGGER"),
    (re.compile(r"(?:^|;)\s*LOAD\s+'", _FLAGS), "LOAD"),
)
_CREATE_EXTENSION = re.compile(r"\bCREATE\s+EXTENSION\b(?P<rest>[^;]*)", _FLAGS)
_IN_EXTENSIONS = re.compile(r"\bSCHEMA\s+\"?extensions\"?(?![\w\"])", _FLAGS)
_E_STRING = re.compile(r"(?<![\w$])[eE]'")


def lint_text(text: str, path: str = "<text>") -> list[Finding]:
    """Every finding in one migration file's *text*."""
    code = _code_only(text)
    with_strings = _code_only(text, keep_strings=True)
    found: list[Finding] = []

    def add(pos: int, rule: str, message: str) -> None:
        found.append(Finding(path, text.count("\n", 0, pos) + 1, rule, message))

    for m in _SET_SCHEMA.finditer(code):
        if m.group("kind").strip().upper() != "EXTENSION":
            add(
                m.start(),
                "set-schema",
                f"ALTER {m.group('kind').strip().upper()} ... SET SCHEMA: supautils before v2.6.0"
                " ignores it for a non-superuser; create the object in its final schema",
            )
    for m in _OWNER_TO.finditer(code):
        role = m.group("role").strip('"')
        if role.lower() not in _ALLOWED_OWNERS:
            add(
                m.start(),
                "owner-to",
                f"OWNER TO {role}: the migrating role (Supabase's postgres) cannot become it",
            )
    for pattern, what in _SUPERUSER_ONLY:
        for m in pattern.finditer(with_strings):  # set_config('session_replication_role', ...)
            add(
                m.start(), "superuser-only", f"{what} needs a superuser; Supabase's postgres is not"
            )
    for m in _CREATE_EXTENSION.finditer(code):
        if not _IN_EXTENSIONS.search(m.group("rest")):
            add(
                m.start(),
                "extension-schema",
                "CREATE EXTENSION without WITH SCHEMA extensions (Supabase keeps them there)",
            )
    for m in _E_STRING.finditer(with_strings):
        add(m.start(), "cli-round-trip", "an E'...' string: the Supabase CLI splits it wrongly")
    nested = _nested_comment(text, with_strings)
    if nested is not None:
        add(nested, "cli-round-trip", "a nested block comment: the Supabase CLI splits it wrongly")
    fetched = statements.fetch_form(statements.split(text))
    if fetched != text:
        add(
            _first_difference(text, fetched),
            "cli-round-trip",
            "`supabase migration fetch` would not give this file back byte for byte: no blank"
            " line right after a statement's ';', one newline after the last",
        )
    unique = {(f.line, f.rule): f for f in reversed(found)}  # one finding per rule and line
    return sorted(unique.values(), key=lambda f: (f.line, f.rule))


def lint_paths(paths: list[Path]) -> list[Finding]:
    found: list[Finding] = []
    for path in paths:
        found += _lint_version(path)
        found += lint_text(path.read_text(encoding="utf-8"), str(path))
    return found


def _lint_version(path: Path) -> list[Finding]:
    version = path.name.split("_", 1)[0]
    try:
        datetime.strptime(version, "%Y%m%d%H%M%S")
    except ValueError:
        return [Finding(str(path), 1, "version", f"{version} is not a timestamp YYYYMMDDHHMMSS")]
    return []


def _code_only(text: str, *, keep_strings: bool = False) -> str:
    """*text* with comments (and, unless *keep_strings*, the text of string literals) blanked
    out, same length, newlines kept. Dollar-quoted bodies stay: they are code."""
    out = list(text)
    i, n = 0, len(text)

    def blank(a: int, b: int) -> None:
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        if text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            blank(i, end)
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            blank(i, end)
            i = end
        elif text[i] in "'\"":
            end = statements.quoted_end(text, i, text[i], backslash=False)
            if text[i] == "'" and not keep_strings:
                blank(i + 1, end - 1)  # the text between the quotes
            i = end
        else:
            i += 1
    return "".join(out)


def _nested_comment(text: str, code: str) -> int | None:
    """Where a block comment opens inside another (outside strings and line comments); *code* is
    ``_code_only(text, keep_strings=True)``."""
    for m in re.finditer(r"/\*", text):
        close = text.find("*/", m.end())
        inner = text.find("/*", m.end())
        if code[m.start()] == " " and 0 <= inner < (close if close >= 0 else len(text)):
            return inner
    return None


def _first_difference(a: str, b: str) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def main(argv: list[str] | None = None) -> int:
    """Lint the files (or directories of *.sql) given, supabase/migrations by default."""
    from .migrations import migrations_dir

    args = [Path(a) for a in (sys.argv[1:] if argv is None else argv)] or [migrations_dir()]
    paths = sorted(p for a in args for p in (a.glob("*.sql") if a.is_dir() else [a]))
    found = lint_paths(paths)
    for finding in found:
        print(finding)
    said = f"{counted(len(paths), 'file')}, {counted(len(found), 'finding')}"
    print(f"migration lint: {said}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
