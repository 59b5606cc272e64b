# syntax=docker/dockerfile:1
#
# The OpsML registry server image.
#
#   docker build -t ghcr.io/example/opsml-server:0.1.0 .
#
# Configuration comes from the environment at run time (never baked in):
#   OPSML_TRACKING_URI   database DSN, e.g. postgresql+psycopg://user:pass@host:5432/opsml
#   OPSML_STORAGE_URI    artifact root: a folder, s3://bucket/prefix or gs://bucket/prefix
#   OPSML_USERNAME       basic-auth user name (turns auth on together with OPSML_PASSWORD)
#   OPSML_PASSWORD       basic-auth password
#   APP_ENV              development | staging | production
#   OPSML_PROD_TOKEN     with APP_ENV=production, every write must carry this token
#
# Both stages use the same Python image, so the virtual environment built in the
# first one runs unchanged in the second.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# ---------------------------------------------------------------------------
# builder: resolve nothing, install exactly what uv.lock says
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

COPY --from=uv /uv /uvx /bin/

ENV UV_COMPILE_BYTECODE=1 \
    UV_CACHE_DIR=/opt/uv-cache \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app

# Dependencies first: this layer is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/opt/uv-cache \
    uv sync --frozen --no-dev --extra server --extra s3 --extra gcs --no-install-project

# Then the project itself, installed as a wheel (not editable) so that the
# runtime stage needs the virtual environment only, not the source tree.
COPY opsml ./opsml
COPY server ./server
COPY opsml_prefect ./opsml_prefect
RUN --mount=type=cache,target=/opt/uv-cache \
    uv sync --frozen --no-dev --extra server --extra s3 --extra gcs --no-editable

# ---------------------------------------------------------------------------
# runtime: the virtual environment, a non-root user, nothing else
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="opsml-server" \
      org.opencontainers.image.description="OpsML registry server (cards, versions, artifacts)" \
      org.opencontainers.image.source="https://github.com/example/opsml-prefect" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/app/.venv/bin:${PATH}" \
    OPSML_STORAGE_URI=/data/artifacts

# A fixed numeric UID/GID, so that Kubernetes' runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 opsml \
    && useradd --system --uid 10001 --gid opsml --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin opsml \
    && mkdir -p /data/artifacts \
    && chown -R 10001:10001 /data

COPY --from=builder --chown=root:root /app/.venv /app/.venv

WORKDIR /app
USER 10001:10001

EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"]

CMD ["opsml", "server", "start", "--host", "0.0.0.0", "--port", "8080"]
