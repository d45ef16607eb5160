#!/bin/sh
# Build the assignment-reminders wheel and gather its runtime dependencies (no extras, no dev
# tools), pinned by requirements-dev.lock, into DIR. The Dockerfile and the install test
# (tests/acceptance/test_install.py) both install from the result with
#   pip install --no-index --find-links DIR assignment-reminders==<version>
# Run from the repository root. Needs hatchling in the running Python (it is in the lock).
# Offline: with PIP_NO_INDEX=1 PIP_FIND_LINKS=DIR, pip takes what DIR already holds.
set -eu
dir=${1:?usage: scripts/wheelhouse.sh DIR}
python=${PYTHON:-python3}
mkdir -p "$dir"
"$python" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation \
  --wheel-dir "$dir" .
"$python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
  --constraint requirements-dev.lock --dest "$dir" "$dir"/assignment_reminders-*-py3-none-any.whl
