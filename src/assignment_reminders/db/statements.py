"""A migration file as the Supabase CLI splits it into statements, and the file it gives back.

``supabase db push`` stores each migration in ``supabase_migrations.schema_migrations.statements``
as a list of statements: the file cut at every ``;`` outside quotes, dollar quotes and comments,
each piece without its ``;`` and without the whitespace around it (a comment before a statement is
part of it), empty pieces dropped. ``supabase migration fetch`` writes them back as each statement
followed by ``;`` and a newline. ``reminders migrate`` records the same list (tests compare it
with the CLI's own, hard cases included), and a migration file is written so that the list gives
the file back byte for byte (``fetch_form(split(text)) == text``; the migration lint checks it).

The CLI's splitter knows neither backslash escapes (``E'it\\'s'``) nor nested block comments,
which PostgreSQL reads differently: the lint refuses both in migrations, so this module does not
need to imitate the CLI there.
"""

from __future__ import annotations

import re

_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$")


def split(text: str) -> list[str]:
    """The statements of *text*, as the Supabase CLI stores them (see the module's docstring)."""
    statements: list[str] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif ch == "/" and text.startswith("/*", i):
            i = block_comment_end(text, i)
        elif ch == "'":
            escapes = i > 0 and text[i - 1] in "eE" and not _word_char(text, i - 2)
            i = quoted_end(text, i, "'", backslash=escapes)
        elif ch == '"':
            i = quoted_end(text, i, '"', backslash=False)
        elif ch == "$":
            quote_end = dollar_quote_end(text, i)
            i = i + 1 if quote_end is None else quote_end
        elif ch == ";":
            _keep(statements, text[start:i])
            i += 1
            start = i
        else:
            i += 1
    _keep(statements, text[start:])
    return statements


def fetch_form(statements: list[str]) -> str:
    """The file ``supabase migration fetch`` writes for *statements*."""
    return "".join(f"{statement};\n" for statement in statements)


def _keep(statements: list[str], piece: str) -> None:
    piece = piece.strip()
    if piece:
        statements.append(piece)


def _word_char(text: str, i: int) -> bool:
    return i >= 0 and (text[i].isalnum() or text[i] == "_")


def dollar_quote_end(text: str, i: int) -> int | None:
    """The index after the dollar-quoted string that starts at *i*, or None when the ``$`` there
    opens none (``$1``, ``a$b``)."""
    if _word_char(text, i - 1):
        return None
    tag = _DOLLAR_TAG.match(text, i)
    if tag is None:
        return None
    end = text.find(tag.group(), tag.end())
    return len(text) if end < 0 else end + len(tag.group())


def quoted_end(text: str, i: int, quote: str, *, backslash: bool) -> int:
    """The index after the quoted string or identifier that starts at *i*."""
    i += 1
    n = len(text)
    while i < n:
        ch = text[i]
        if backslash and ch == "\\":
            i += 2
        elif ch == quote:
            if text.startswith(quote * 2, i):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return n


def block_comment_end(text: str, i: int) -> int:
    """The index after the (nested) block comment that starts at *i*."""
    depth = 0
    n = len(text)
    while i < n:
        if text.startswith("/*", i):
            depth += 1
            i += 2
        elif text.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n
