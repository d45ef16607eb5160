"""What every command shares: the context (settings, ``--debug``) and the option types.

Every text parameter is :class:`Text` (:func:`text_everywhere` makes it so for the whole tree):
bytes that are not UTF-8 in argv end as one line naming the parameter, exit 2, before any work.

Options backed by a setting (``--port``, ``--concurrency`` ...) have no default of their own: when
not given they take the value ``config.py`` read from the environment, so each variable is read
in one place and each default lives in one place (the settings dataclasses).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from ..config import Settings, text_problem
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
    no argv bytes that are not UTF-8), of at most *max_length* characters when given."""

    name = "text"  # click's own STRING's name: --help reads the same

    def __init__(self, max_length: int | None = None) -> None:
        self.max_length = max_length

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = value if isinstance(value, str) else str(value)
        problem = text_problem(text)
        if problem is not None:
            self.fail(problem, param, ctx)
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


def echo_json(data: Any) -> None:
    """Print *data* as one line of JSON, every figure rounded (:mod:`..figures`)."""
    click.echo(json.dumps(rounded(data), default=str))


def json_option(what: str = "the result") -> Callable[[F], F]:
    """``--json``: print *what* as JSON (parameter ``as_json``)."""
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what} as JSON.")


def now_option(help: str) -> Callable[[F], F]:
    """``--now DATETIME``: the moment the command acts as of (parameter ``now``; None = now)."""
    return click.option("--now", type=AwareDateTime(), default=None, help=help)


def setting_option(
    *decls: str,
    env: str,
    default: object,
    pick: Callable[[Settings], object],
    help: str,
    **kwargs: Any,
) -> Callable[[F], F]:
    """An option whose default is a setting: *pick* reads it from the settings, which read
    *env*; *default* (the settings dataclass's own default) is only shown in ``--help``."""

    def fill(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None:
            return value
        return pick(ctx.ensure_object(Context).settings)

    shown = "yes" if default is True else "no" if default is False else default
    return click.option(
        *decls,
        default=None,
        callback=fill,
        help=f"{help}  [env: {env}; default: {shown}]",
        **kwargs,
    )
