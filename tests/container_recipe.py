"""compose.yaml and the Dockerfile read the way Docker reads them, without a Docker engine.

:func:`compose_config` is ``docker compose config`` for what this project uses: YAML anchors and
merge keys, then variable interpolation (``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``,
``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``, ``${VAR:+alt}``, ``${VAR+alt}``) against
a given shell environment. :func:`lint` applies hadolint-like rules to both files and returns
its findings, one line each (empty when clean).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import yaml

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|(?P<plain>[A-Za-z_][A-Za-z0-9_]*)"
    r"|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\})"
)


class InterpolationError(ValueError):
    """``${VAR:?message}`` met an unset (or empty) variable, as ``docker compose`` would refuse."""


def interpolate(text: str, shell: Mapping[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group("escaped"):
            return "$"
        if m.group("plain"):
            return shell.get(m.group("plain"), "")
        name, op, arg = m.group("name"), m.group("op"), m.group("arg") or ""
        value = shell.get(name)
        missing = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":-", "-"):
            return arg if missing else str(value)
        if op in (":?", "?"):
            if missing:
                raise InterpolationError(f"{name}: {arg}")
            return str(value)
        if op in (":+", "+"):
            return "" if missing else arg
        return value or ""

    return _VARIABLE.sub(one, text)


def _interpolated(node: Any, shell: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, shell)
    if isinstance(node, list):
        return [_interpolated(n, shell) for n in node]
    if isinstance(node, dict):
        return {k: _interpolated(v, shell) for k, v in node.items()}
    return node


def compose_config(text: str, shell: Mapping[str, str]) -> dict[str, Any]:
    """The file as ``docker compose config`` resolves it for *shell* (``x-`` blocks dropped)."""
    raw: dict[str, Any] = yaml.safe_load(text)
    resolved: dict[str, Any] = _interpolated(
        {k: v for k, v in raw.items() if not k.startswith("x-")}, shell
    )
    for service in resolved["services"].values():
        env = service.get("environment", {})
        if isinstance(env, list):  # the KEY=value list form
            env = dict(item.split("=", 1) for item in env)
        service["environment"] = {k: "" if v is None else str(v) for k, v in env.items()}
    return resolved


def variables_referenced(text: str) -> dict[str, str | None]:
    """Every ``${VAR...}`` of the file: its name and its operator (None for a bare reference)."""
    return {
        m.group("name") or m.group("plain"): m.group("op")
        for m in _VARIABLE.finditer(text)
        if not m.group("escaped")
    }


# --- The Dockerfile -------------------------------------------------------------------------


def instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` per Dockerfile instruction, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for raw in joined.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages(text: str) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for word, rest in instructions(text):
        if word == "FROM":
            result.append([])
        result[-1].append((word, rest))
    return result


def commands(stage: list[tuple[str, str]]) -> Iterator[list[str]]:
    """Every shell command the stage RUNs, split into words."""
    for word, rest in stage:
        if word == "RUN":
            for part in rest.split("&&"):
                yield shlex.split(part)


def image_env(text: str) -> dict[str, str]:
    """The final stage's ENV, as a container of the image starts with it."""
    env: dict[str, str] = {}
    for word, rest in stages(text)[-1]:
        if word == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def image_entrypoint(text: str) -> list[str]:
    [entrypoint] = [json.loads(rest) for word, rest in stages(text)[-1] if word == "ENTRYPOINT"]
    return list(entrypoint)


# --- The rules ------------------------------------------------------------------------------

_PINNED_TAG = re.compile(r"^\d+\.\d+(\.\d+)?(-[a-z0-9.-]+)?$")
_DEPENDENCY_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def image_pin_problem(reference: str) -> str | None:
    """Why *reference* is not pinned (hadolint DL3006/DL3007), or None: a digest, or a tag that
    names at least major.minor (``postgres:16.6-bookworm``, not ``postgres:16`` or ``latest``)."""
    if "@sha256:" in reference:
        return None
    name, _, tag = reference.rpartition(":") if ":" in reference else (reference, "", "")
    if not tag:
        return f"{reference}: no tag (it means latest)"
    if tag == "latest":
        return f"{reference}: latest"
    if not _PINNED_TAG.match(tag) or "." not in tag:
        return f"{name}:{tag}: not pinned to a minor version or a digest"
    return None


def listens(service: Mapping[str, Any], env: Mapping[str, str]) -> int | None:
    """The port a service's process listens on: PostgreSQL's, ``reminders serve``'s; else None."""
    if str(service.get("image", "")).startswith("postgres:"):
        return 5432
    if service.get("command", [None])[0] == "serve":
        return int(env.get("REMINDERS_HTTP_PORT", "8000"))
    return None


def _lint_pip(words: list[str]) -> Iterator[str]:
    """hadolint DL3042 (pip's cache in the image) and DL3013 (unpinned requirements)."""
    if words[:2] != ["pip", "install"]:
        return
    if "--no-cache-dir" not in words:
        yield f"Dockerfile: pip install without --no-cache-dir: {' '.join(words)}"
    for w in words[2:]:
        if not w.startswith(("-", "/")) and "==" not in w:
            yield f"Dockerfile: unpinned pip requirement {w}"


def _lint_dockerfile(text: str) -> Iterator[str]:
    built = stages(text)
    aliases = {rest.split()[-1] for st in built for w, rest in st[:1] if " AS " in rest.upper()}
    for st in built:
        image = st[0][1].split()[0]
        if image not in aliases:
            problem = image_pin_problem(image)
            if problem:
                yield f"Dockerfile FROM {problem}"
        for words in commands(st):
            yield from _lint_pip(words)
    final = built[-1]
    for word, rest in final:
        if word in ("ENTRYPOINT", "CMD") and not rest.startswith("["):
            yield f"Dockerfile: {word} in shell form (signals do not reach the process)"
        if word == "ADD":
            yield "Dockerfile: ADD where COPY does"
    users = [rest for word, rest in final if word == "USER"]
    if not users or users[-1] in ("0", "root") or not users[-1].isdigit():
        yield "Dockerfile: the final stage must end as a numeric non-root USER"
    checks = [rest for word, rest in final if word == "HEALTHCHECK" and rest != "NONE"]
    if checks:
        yield (
            "Dockerfile: a HEALTHCHECK in the image applies to every command it runs (migrate,"
            " worker, run listen on nothing): put it on the service that listens"
        )


def lint(dockerfile: str, compose_text: str, shell: Mapping[str, str]) -> list[str]:
    """Every finding for the two files, with the compose file resolved for *shell*."""
    findings = list(_lint_dockerfile(dockerfile))
    for name, op in variables_referenced(compose_text).items():
        if op not in (":-", "-"):
            findings.append(f"compose: ${{{name}}} has no default: `docker compose up` needs it")
    try:
        config = compose_config(compose_text, shell)
    except InterpolationError as exc:
        return [*findings, f"compose: `docker compose up` stops: {exc}"]
    services: dict[str, dict[str, Any]] = config["services"]
    base_env = image_env(dockerfile)
    for name, s in services.items():
        if "image" in s and "build" not in s and (problem := image_pin_problem(s["image"])):
            findings.append(f"compose {name}: {problem}")
        env = {**base_env, **s["environment"]} if "build" in s else s["environment"]
        port = listens(s, env)
        check = s.get("healthcheck")
        if check and port is None:
            findings.append(f"compose {name}: a healthcheck where nothing listens")
        if port is not None and not check:
            findings.append(f"compose {name}: listens on {port} without a healthcheck")
        if check and port is not None and "build" in s and f":{port}/health" not in str(check):
            findings.append(f"compose {name}: its healthcheck does not ask :{port}/health")
        findings.extend(f"compose {name}: {p}" for p in _dependency_problems(s, services))
        if "build" in s:
            findings.extend(f"compose {name}: {p}" for p in _app_env_problems(env, services))
    return findings


def _dependency_problems(service: Mapping[str, Any], services: Mapping[str, Any]) -> Iterator[str]:
    for other, dep in service.get("depends_on", {}).items():
        condition = dep.get("condition", "service_started")
        target = services.get(other)
        if target is None or condition not in _DEPENDENCY_CONDITIONS:
            yield f"depends_on {other}: {condition}"
        elif condition == "service_healthy" and "healthcheck" not in target:
            yield f"waits for {other} healthy; it has no check"
        elif condition == "service_completed_successfully" and target.get("restart") != "no":
            yield f"waits for {other} to complete; it restarts"


def _app_env_problems(env: Mapping[str, str], services: Mapping[str, Any]) -> Iterator[str]:
    url = env.get("DATABASE_URL", "")
    if not url:
        yield "no DATABASE_URL"
        return
    parts = urlsplit(url)
    postgres = services.get(parts.hostname or "")
    if postgres is None:
        yield f"DATABASE_URL names {parts.hostname!r}, not a service"
        return
    pg = postgres["environment"]
    if (parts.username, parts.password, parts.path.lstrip("/")) != (
        pg.get("POSTGRES_USER"),
        pg.get("POSTGRES_PASSWORD"),
        pg.get("POSTGRES_DB"),
    ):
        yield "DATABASE_URL's user, password or database is not the postgres service's"
    if env.get("REMINDERS_HTTP_HOST") not in ("127.0.0.1", "localhost", "::1") and not (
        env.get("REMINDERS_OPS_TOKEN") or env.get("REMINDERS_ALLOW_OPEN_OPS") == "true"
    ):
        yield "listens on all interfaces without REMINDERS_OPS_TOKEN"
