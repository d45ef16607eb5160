"""What every command shares: the context (settings, ``--debug``) and the option types.

Every text parameter is :class:`Text` (:func:`text_everywhere` makes it so for the whole tree):
bytes that are not UTF-8 in argv end as one line naming the parameter, exit 2, before any work.

Options backed by a setting (``--port``, ``--concurrency`` ...) are made from its declaration
(``config.SETTINGS``): type and bounds, help, variable and default shown in ``--help``. They have no
default of their own: when not given they take the value ``config.py`` read from the environment.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import date, datetime, time
from operator import attrgetter
from typing import Any, TypeVar

import click

from ..config import CHOICE, FLAG, INT, SECONDS, SETTINGS, Setting, Settings, text_problem
from ..exceptions import ConfigurationError
from ..figures import rounded
from ..terminal import Terminal

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """The settings (read from the environment on first use, so ``--help`` never needs them)
    and whether ``--debug`` was given."""

    def __init__(self, debug: bool = False, settings: Settings | None = None) -> None:
        self.debug = debug
        self._settings = settings

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    def settings_or_none(self) -> Settings | None:
        """The settings, or None when the environment is malformed (reported when used)."""
        try:
            return self.settings
        except ConfigurationError:
            return None


pass_context = click.make_pass_decorator(Context)


class AwareDateTime(click.ParamType[datetime]):
    """An ISO 8601 moment with a UTC offset (``2026-11-28T06:00:00+01:00`` or ``...Z``)."""

    name = "DATETIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"not an ISO 8601 date-time: {value!r}", param, ctx)
        if parsed.tzinfo is None:
            self.fail("needs a UTC offset or Z, e.g. 2026-11-28T06:00:00+01:00", param, ctx)
        return parsed


class Text(click.ParamType[str]):
    """Text a database, a socket or a header can carry (:func:`~..config.text_problem`: no NUL,
    no argv bytes that are not UTF-8), of at most *max_length* characters when given; with
    ``blank=False``, not empty or only spaces (a name or a reason: refused before anything is
    opened, as its length is)."""

    name = "text"  # click's own STRING's name: --help reads the same

    def __init__(self, max_length: int | None = None, *, blank: bool = True) -> None:
        self.max_length = max_length
        self.blank = blank

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = value if isinstance(value, str) else str(value)
        problem = text_problem(text)
        if problem is not None:
            self.fail(problem, param, ctx)
        if not self.blank and not text.strip():
            self.fail("must not be blank", param, ctx)
        if self.max_length is not None and len(text) > self.max_length:
            self.fail(
                f"must be at most {self.max_length:,} characters, got {len(text):,}", param, ctx
            )
        return text


def text_everywhere(command: click.Command) -> None:
    """Make every parameter of *command* and its subcommands that is plain text (click's
    ``STRING``, the default type) a :class:`Text`, so that no command can forget the check."""
    for param in command.params:
        if param.type is click.STRING:
            param.type = Text()
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            text_everywhere(subcommand)


class WholeNumber(click.IntRange):
    """A whole number within a range; bad text is "'abc' is not a valid integer", not click's
    "integer range"."""

    name = "integer"


class Seconds(click.ParamType[float]):
    """A finite number of seconds within a range (no ``nan``, no ``inf``)."""

    name = "SECONDS"

    def __init__(self, minimum: float = 0.0, maximum: float = 7 * 24 * 3600.0) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"not a number of seconds: {value!r}", param, ctx)
        if not math.isfinite(seconds) or not self.minimum <= seconds <= self.maximum:
            self.fail(
                f"must be a finite number between {self.minimum:g} and {self.maximum:g}",
                param,
                ctx,
            )
        return seconds


def terminal() -> Terminal:
    """Where this command prints (stdout): its width and whether it takes colour."""
    return Terminal.detect()


def echo_text(text: str, term: Terminal) -> None:
    """Print *text* for *term*: colour kept only when *term* takes it (FORCE_COLOR on a pipe)."""
    click.echo(text, color=term.colour)


def _json_default(value: object) -> str:
    """Moments as ISO 8601 (``2026-12-07T01:37:19+00:00``, as ``--now`` takes them), the rest
    (UUIDs, paths) as text."""
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    return str(value)


def echo_json(data: Any) -> None:
    """Print *data* as one line of JSON, every figure rounded (:mod:`..figures`)."""
    click.echo(json.dumps(rounded(data), default=_json_default))


def json_option(what: str = "the result") -> Callable[[F], F]:
    """``--json``: print *what* as JSON (parameter ``as_json``)."""
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what} as JSON.")


def now_option(help: str) -> Callable[[F], F]:
    """``--now DATETIME``: the moment the command acts as of (parameter ``now``; None = now)."""
    return click.option("--now", type=AwareDateTime(), default=None, help=help)


def env_help(*sections: str) -> str:
    """The variables of *sections* (``""``: the top level, ``"lock"`` ...) as ``--help`` lists
    them: ``VARIABLE (default: X): help.``"""
    return " ".join(
        f"{' or '.join((s.env, *s.aliases))} (default: {s.shown_default()}): {s.help}."
        for path, s in SETTINGS.items()
        if path.rpartition(".")[0] in sections
    )


def setting_help(path: str) -> str:
    """The ``--help`` of an option backed by the setting at *path*."""
    setting = SETTINGS[path]
    return (
        f"{setting.help[:1].upper()}{setting.help[1:]}.  [env: {setting.env};"
        f" default: {setting.shown_default()}]"
    )


def _click_type(setting: Setting) -> click.ParamType[Any] | None:
    if setting.kind is INT:
        return WholeNumber(int(setting.lo), int(setting.hi))
    if setting.kind is SECONDS:
        return Seconds(setting.lo, setting.hi)
    if setting.kind is CHOICE:
        return click.Choice(setting.choices, case_sensitive=False)
    return None  # text (made Text by text_everywhere) or a flag (its decls say so)


def renamed_option(old: str, new: str) -> Callable[[F], F]:
    """A hidden flag *old* that stops the command with one line naming *new*."""

    def refuse(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:
            raise click.UsageError(f"{old} was renamed {new}", ctx)

    return click.option(old, is_flag=True, hidden=True, expose_value=False, callback=refuse)


def setting_option(*decls: str, path: str, **kwargs: Any) -> Callable[[F], F]:
    """An option backed by the setting at *path* (``"http.port"``): type, bounds and help come
    from its declaration; when not given it takes the value the settings read from the
    environment (so the default shown in ``--help`` is the setting's)."""
    setting = SETTINGS[path]
    if setting.kind is FLAG and "/" not in decls[0]:
        raise ValueError(f"{decls[0]}: a flag setting needs --x/--no-x")

    def fill(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None:
            return value
        return attrgetter(path)(ctx.ensure_object(Context).settings)

    return click.option(
        *decls,
        type=_click_type(setting),
        default=None,
        callback=fill,
        help=setting_help(path),
        **kwargs,
    )
