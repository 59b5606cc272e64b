# syntax=docker/dockerfile:1
#
# The OpsML registry server image. Its build context is made by
#
#   python scripts/server_image.py            # prepares build/server-image/ and builds it
#   python scripts/server_image.py --no-build # only prepares it (then: docker build build/server-image)
#
# which puts beside this file every dependency as a wheel, pinned with its hash
# from uv.lock (`uv export`), uv's own wheel, and the project's wheel: the build
# fetches nothing, from no package index and no image registry except the base.
#
# Configuration comes from the environment at run time (never baked in):
#   OPSML_TRACKING_URI   database DSN, e.g. postgresql+psycopg://user:pass@host:5432/opsml
#   OPSML_STORAGE_URI    artifact root: a folder, s3://bucket/prefix or gs://bucket/prefix
#   OPSML_USERNAME       basic-auth user name (turns auth on together with OPSML_PASSWORD)
#   OPSML_PASSWORD       basic-auth password
#   APP_ENV              development | staging | production
#   OPSML_PROD_TOKEN     with APP_ENV=production, every write must carry this token
#   OPSML_SERVER_PORT    the port (8080)
#
# Both stages use the same base, so the virtual environment built in the first
# one runs unchanged in the second. The base needs python3 with venv (python:*-slim,
# or Debian with python3-venv).

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
ARG UV_VERSION=0.13.9

# ---------------------------------------------------------------------------
# builder: uv from its wheel, then exactly what uv.lock says, from wheels only
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
ARG UV_VERSION

COPY uv/ /tmp/uv/
COPY uv.txt /tmp/uv.txt
COPY wheels/ /tmp/wheels/
COPY requirements.txt /tmp/requirements.txt
COPY project/ /tmp/project/

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_CACHE=1

RUN python3 -m venv /opt/uv \
 && /opt/uv/bin/python -m pip install --no-index --no-cache-dir --require-hashes \
      --disable-pip-version-check --find-links /tmp/uv -r /tmp/uv.txt \
 && python3 -m venv --without-pip /app/.venv \
 && /opt/uv/bin/uv pip install --python /app/.venv/bin/python --offline --no-index \
      --require-hashes --find-links /tmp/wheels -r /tmp/requirements.txt \
 && /opt/uv/bin/uv pip install --python /app/.venv/bin/python --offline --no-index --no-deps \
      /tmp/project/*.whl

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
    OPSML_STORAGE_URI=/data/artifacts \
    OPSML_SERVER_HOST=0.0.0.0 \
    OPSML_SERVER_PORT=8080

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
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('OPSML_SERVER_PORT', '8080') + '/healthz', timeout=4).status == 200 else 1)"]

CMD ["opsml", "server", "start"]
