"""The container recipe, without a Docker engine: the Dockerfile installs exactly what the install
test proved (tests/acceptance/test_install.py), and compose.yaml sets only variables the code
reads."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from typing import Any

import click
import yaml

from assignment_reminders.cli import cli
from assignment_reminders.config import Settings
from tests.acceptance.test_install import INSTALL, REQUIREMENT, ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())


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


class Recording(Mapping[str, str]):
    """An empty environment that notes every name looked up."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.names.add(key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        self.names.add(str(key))
        return False

    def get(self, key: str, default: Any = None) -> Any:
        self.names.add(key)
        return default

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def variables_the_code_reads() -> set[str]:
    """What Settings.from_env looks up, and every CLI option's environment variable."""
    env = Recording()
    Settings.from_env(env)
    names = set(env.names)

    def walk(command: click.Command) -> None:
        for param in command.params:
            envvar = getattr(param, "envvar", None)
            names.update([envvar] if isinstance(envvar, str) else envvar or [])
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                walk(sub)

    walk(cli)
    return names


def test_the_dockerfile_is_multi_stage_non_root_and_serves_with_a_health_check() -> None:
    build, final = stages(DOCKERFILE)
    assert build[0][1].endswith(" AS build")
    users = [rest for word, rest in final if word == "USER"]
    assert users and users[-1] not in {"0", "root"}
    assert int(users[-1]) > 0
    [healthcheck] = [rest for word, rest in final if word == "HEALTHCHECK"]
    assert "http://127.0.0.1:8000/health" in healthcheck
    entrypoint = [json.loads(rest) for word, rest in final if word == "ENTRYPOINT"]
    cmd = [json.loads(rest) for word, rest in final if word == "CMD"]
    assert entrypoint == [["reminders"]]
    assert cmd == [["serve"]]
    env = " ".join(rest for word, rest in final if word == "ENV")
    assert "REMINDERS_HTTP_HOST=0.0.0.0" in env.split()


def test_the_dockerfile_installs_the_wheel_the_install_test_proved() -> None:
    build, final = stages(DOCKERFILE)
    # the build stage runs the install test's script with the lock's hatchling
    built = list(commands(build))
    assert ["sh", "scripts/wheelhouse.sh", "/wheels"] in built
    lock = (ROOT / "requirements-dev.lock").read_text().split()
    hatchling = next(w for c in built for w in c if w.startswith("hatchling=="))
    assert hatchling in lock
    # the final stage installs exactly the install test's requirement, offline, no extras
    pip = [c for c in commands(final) if c[:2] == ["pip", "install"]]
    assert len(pip) == 1
    words = pip[0]
    at = words.index("--no-index")
    assert ["install", *words[at : at + 3]] == [*INSTALL, "/wheels"]
    assert words[-1] == REQUIREMENT
    assert not any("[" in w for w in words)  # no [embedded]: no pgserver in the image
    copied = [rest for word, rest in final if word == "COPY"]
    assert copied == ["--from=build /wheels /wheels"]  # nothing of the source tree


def app_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = COMPOSE["services"]
    return {n: s for n, s in services.items() if "build" in s}


def test_compose_runs_postgres_a_one_shot_migrate_serve_and_a_worker() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "migrate", "serve", "worker"}
    apps = app_services()
    assert {n: s["command"] for n, s in apps.items()} == {
        "migrate": ["migrate"],
        "serve": ["serve"],
        "worker": ["worker"],
    }
    assert apps["migrate"]["restart"] == "no"
    for name in ("serve", "worker"):
        assert apps[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
    assert apps["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_every_variable_compose_and_the_image_set_is_one_the_code_reads() -> None:
    reads = variables_the_code_reads()
    assert {"DATABASE_URL", "REMINDERS_HTTP_HOST", "REMINDERS_SCHEDULE"} <= reads  # sanity
    set_by_compose = {name for s in app_services().values() for name in s["environment"]}
    assert "DATABASE_URL" in set_by_compose
    assert "REMINDERS_OPS_TOKEN" in set_by_compose  # serve listens on 0.0.0.0 in the container
    _, final = stages(DOCKERFILE)
    set_by_image = {
        pair.split("=", 1)[0] for word, rest in final if word == "ENV" for pair in rest.split()
    }
    ours = (set_by_compose | set_by_image) - {"PYTHONUNBUFFERED"}  # Python's own
    assert sorted(ours - reads) == []


def test_the_compose_stack_is_documented() -> None:
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    for needle in ("compose.yaml", "concurrencyPolicy: Forbid", "OnCalendar=", "HEALTHCHECK"):
        assert needle in deploy, needle
