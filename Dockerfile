# syntax=docker/dockerfile:1
# assignment-reminders: the wheel and its runtime dependencies (no extras, no dev tools), as a
# non-root user. `reminders serve` by default; the same image runs `migrate`, `worker`, `run`.
# No HEALTHCHECK here: most commands listen on nothing. The one for `serve` is in compose.yaml
# (and in your orchestrator's probe: GET /health). docs/deploy.md.
# tests/acceptance/test_container.py checks this file against the install test and lints it.

FROM python:3.11.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md requirements-dev.lock ./
COPY scripts ./scripts
COPY src ./src
COPY supabase ./supabase
RUN pip install --no-cache-dir --disable-pip-version-check hatchling==1.33.0 \
 && sh scripts/wheelhouse.sh /wheels

FROM python:3.11.11-slim-bookworm
RUN useradd --system --uid 10001 --no-create-home --home-dir /nonexistent reminders
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --disable-pip-version-check --no-index --find-links /wheels assignment-reminders==0.1.0 \
 && rm -rf /wheels
USER 10001
ENV PYTHONUNBUFFERED=1 \
    REMINDERS_HTTP_HOST=0.0.0.0 \
    REMINDERS_HTTP_PORT=8000 \
    REMINDERS_LOG_FORMAT=json
EXPOSE 8000
ENTRYPOINT ["reminders"]
CMD ["serve"]
