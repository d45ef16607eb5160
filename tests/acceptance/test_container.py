"""The container recipe, without a Docker engine: the Dockerfile installs exactly what the install
test proved (tests/acceptance/test_install.py), compose.yaml sets only variables the code reads,
both files pass hadolint-like rules, and each compose service's exact command and environment,
resolved as ``docker compose config`` would (tests/container_recipe.py), runs against a real
PostgreSQL standing in for the ``postgres`` service."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from assignment_reminders.cli import cli
from assignment_reminders.config import Settings
from tests.acceptance.test_install import INSTALL, REQUIREMENT, ROOT
from tests.conftest import wait_for
from tests.container_recipe import (
    commands,
    compose_config,
    image_entrypoint,
    image_env,
    interpolate,
    lint,
    stages,
)
from tests.receivers import free_port

DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE_TEXT = (ROOT / "compose.yaml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
FRESH_SHELL: dict[str, str] = {}  # `docker compose up` on a fresh checkout: nothing exported
WORKER_IDLE = "no delivery channel is configured"  # what the worker logs once, then idles


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


def test_the_dockerfile_is_multi_stage_non_root_and_leaves_health_checks_to_serve() -> None:
    build, final = stages(DOCKERFILE)
    assert build[0][1].endswith(" AS build")
    users = [rest for word, rest in final if word == "USER"]
    assert users and users[-1] not in {"0", "root"}
    assert int(users[-1]) > 0
    assert [rest for word, rest in final if word == "HEALTHCHECK"] == []  # compose's serve has it
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


# --- Lint: hadolint-like rules over both files ----------------------------------------------


def test_the_dockerfile_and_compose_file_pass_the_lint() -> None:
    assert lint(DOCKERFILE, COMPOSE_TEXT, FRESH_SHELL) == []


@pytest.mark.parametrize(
    ("file", "old", "new", "finding"),
    [
        ("docker", "FROM python:3.11.11-slim-bookworm\n", "FROM python:latest\n", "latest"),
        ("docker", "FROM python:3.11.11-slim-bookworm\n", "FROM python:3\n", "not pinned"),
        ("docker", "USER 10001", "USER root", "non-root USER"),
        ("docker", 'CMD ["serve"]', 'CMD ["serve"]\nHEALTHCHECK CMD true', "HEALTHCHECK"),
        ("docker", "hatchling==1.33.0", "hatchling", "unpinned pip requirement hatchling"),
        ("compose", "postgres:16.6-bookworm", "postgres:latest", "postgres:latest"),
        ("compose", "condition: service_healthy", "condition: service_ready", "service_ready"),
        ("compose", '    restart: "no"\n', "", "waits for migrate to complete; it restarts"),
        (
            "compose",
            "${REMINDERS_OPS_TOKEN:-change-me-local-ops-token}",
            "",
            "without REMINDERS_OPS",
        ),
        (
            "compose",
            "${REMINDERS_JWT_SECRET:-",
            "${REMINDERS_JWT_SECRET:?set it}${X:-",
            "no default",
        ),
        (
            "compose",
            '    command: ["worker"]\n',
            '    command: ["worker"]\n    healthcheck: {test: ["CMD", "true"]}\n',
            "worker: a healthcheck where nothing listens",
        ),
    ],
)
def test_the_lint_finds_what_it_is_for(file: str, old: str, new: str, finding: str) -> None:
    dockerfile, compose = DOCKERFILE, COMPOSE_TEXT
    if file == "docker":
        assert old in dockerfile
        dockerfile = dockerfile.replace(old, new)
    else:
        assert old in compose
        compose = compose.replace(old, new)
    found = lint(dockerfile, compose, FRESH_SHELL)
    assert any(finding in f for f in found), found


@pytest.mark.parametrize(
    ("text", "shell", "expected"),
    [
        ("${A:-x}", {}, "x"),
        ("${A:-x}", {"A": ""}, "x"),
        ("${A-x}", {"A": ""}, ""),
        ("${A-x}", {"A": "v"}, "v"),
        ("${A:+y}", {"A": "v"}, "y"),
        ("${A:+y}", {}, ""),
        ("$A/$$B/${A}", {"A": "v"}, "v/$B/v"),
    ],
)
def test_interpolation_is_compose_s(text: str, shell: dict[str, str], expected: str) -> None:
    assert interpolate(text, shell) == expected


# --- Each service's exact command and environment, against a real PostgreSQL --------------------


def service_env(
    name: str, database_url: str, shell: Mapping[str, str] = FRESH_SHELL
) -> dict[str, str]:
    """What the container's process would see: the image's ENV, then compose's environment, with
    the test's database standing in for the ``postgres`` service (the lint checks that the
    compose URL names that service and its user, password and database)."""
    service = compose_config(COMPOSE_TEXT, shell)["services"][name]
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/nonexistent")}
    env |= image_env(DOCKERFILE) | service["environment"]
    env["DATABASE_URL"] = database_url
    return env


def service_command(name: str) -> list[str]:
    service = compose_config(COMPOSE_TEXT, FRESH_SHELL)["services"][name]
    [program, *rest] = image_entrypoint(DOCKERFILE) + service["command"]
    return [str(Path(sys.executable).parent / program), *rest]  # the venv's console script


def test_the_defaults_pass_the_apps_own_configuration_checks() -> None:
    for name in ("migrate", "serve", "worker"):
        Settings.from_env(service_env(name, "postgresql://reminders@postgres/reminders"))


class Lines:
    """A process's stream, read line by line on a thread (so a test can await a line)."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._stream = stream
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line)

    def having(self, needle: str) -> str | None:
        return next((line for line in self.lines if needle in line), None)

    def close(self) -> None:
        """Once the process has exited: the rest of its lines, then the pipe closed."""
        self._thread.join(timeout=30)
        self._stream.close()


def healthcheck_argv(name: str, port: int) -> list[str]:
    """The service's healthcheck ``CMD``, with its port made the test's free one."""
    test = compose_config(COMPOSE_TEXT, FRESH_SHELL)["services"][name]["healthcheck"]["test"]
    assert test[0] == "CMD"
    listening = image_env(DOCKERFILE)["REMINDERS_HTTP_PORT"]
    argv = [a.replace(f":{listening}/", f":{port}/") for a in test[1:]]
    assert argv[0] == "python"
    return [sys.executable, *argv[1:]]


@pytest.mark.slow
def test_each_compose_service_runs_its_command_and_environment(empty_database_url: str) -> None:
    # migrate: one shot, exit 0, on an empty database (its first start)
    migrate = subprocess.run(
        service_command("migrate"),
        env=service_env("migrate", empty_database_url),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    # serve: its healthcheck fails while nothing listens, then passes once it serves
    port = free_port()
    check = healthcheck_argv("serve", port)

    def healthy() -> bool:
        done = subprocess.run(check, capture_output=True, timeout=30, check=False)
        return done.returncode == 0

    assert not healthy()
    serve_env = service_env("serve", empty_database_url) | {"REMINDERS_HTTP_PORT": str(port)}
    serve = subprocess.Popen(
        service_command("serve"),
        env=serve_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    worker = subprocess.Popen(
        service_command("worker"),
        env=service_env("worker", empty_database_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    serve_log, log = Lines(serve.stderr), Lines(worker.stderr)
    try:
        wait_for(lambda: serve.poll() is not None or healthy(), timeout=60)
        assert serve.poll() is None, "".join(serve_log.lines)[-3000:]
        # worker: no channel in compose, so it says so once (as JSON) and stays up
        line = wait_for(lambda: worker.poll() is not None or log.having(WORKER_IDLE))
        assert worker.poll() is None, "".join(log.lines)[-3000:]
        assert json.loads(str(line))["level"] == "WARNING"
        with pytest.raises(subprocess.TimeoutExpired):
            worker.wait(timeout=2)  # still up: nothing to restart in a loop
    finally:
        for proc in (serve, worker):
            proc.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert serve.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises it when done
    serve_log.close()
    log.close()
    assert [line for line in log.lines if WORKER_IDLE in line] == [line]  # once


# --- The commands docs/deploy.md gives a person ----------------------------------------------


def documented_commands(doc: str, marker: str) -> list[str]:
    """The lines of the ``sh`` block after ``<!-- commands: marker ...-->`` in docs/*doc*."""
    text = (ROOT / "docs" / doc).read_text()
    after = text.split(f"<!-- commands: {marker}", 1)[1]
    block = after.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_the_compose_commands_in_deploy_md_do_what_the_tests_check() -> None:
    lines = documented_commands("deploy.md", "compose")
    exports = [line for line in lines if line.startswith("export ")]
    docker = [line for line in lines if line.startswith("docker compose ")]
    echo = [line for line in lines if line.startswith("echo ")]
    assert len(exports) + len(docker) + len(echo) == len(lines), lines
    # the exports, run as typed, leave a shell compose resolves into settings the apps accept
    script = "set -e\n" + "\n".join(exports) + "\n" + "\n".join(echo) + "\nenv -0\n"
    done = subprocess.run(
        ["bash", "-c", script], env={"PATH": os.environ["PATH"]}, capture_output=True, check=True
    )
    printed, _, environ = done.stdout.decode().partition("\n")
    shell = dict(item.split("=", 1) for item in environ.split("\0") if "=" in item)
    assert printed == shell["REMINDERS_OPS_TOKEN"]  # the echo line shows the token to sign in
    default = compose_config(COMPOSE_TEXT, FRESH_SHELL)["services"]["serve"]["environment"]
    assert f"is `{default['REMINDERS_OPS_TOKEN']}`" in (ROOT / "docs" / "deploy.md").read_text()
    assert lint(DOCKERFILE, COMPOSE_TEXT, shell) == []
    for name in ("migrate", "serve", "worker"):
        env = service_env(name, "postgresql://reminders@postgres/reminders", shell)
        for variable in ("REMINDERS_OPS_TOKEN", "REMINDERS_CRON_SECRET", "REMINDERS_JWT_SECRET"):
            assert env[variable] == shell[variable], (name, variable)
        Settings.from_env(env)
    # the docker lines name what the service test runs: the stack, its states, the worker's line
    services = set(compose_config(COMPOSE_TEXT, shell)["services"])
    for line in docker:
        words = line.split("#")[0].split()
        assert words[2] in {"up", "ps", "logs"}, line
        assert set(words[3:]) - {"-d"} <= services, line
    [logs] = [line for line in docker if line.split()[2] == "logs"]
    assert WORKER_IDLE in logs
