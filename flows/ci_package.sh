#!/usr/bin/env bash
# Scenario 2 as a plain CI step (no Prefect needed): pull the model a spec names
# from the registry, then assemble, smoke-test, render manifests, build the image.
#
#   OPSML_TRACKING_URI=https://opsml.example.com flows/ci_package.sh flows/model_spec.yaml build
#
# Needs: the `opsml` command (pip install "opsml-prefect[...]", or `uv sync` and
# `source .venv/bin/activate` in a checkout) in a Python environment that also has
# the API's test dependencies (fastapi, httpx, pandas, scikit-learn, skops, pyyaml).
# The image is built, started as its user and checked over HTTP with the first
# container engine that answers (docker, podman, buildah; OPSML_CONTAINER_ENGINE or
# the spec's api.engine name one); with none, the build command is printed.
# Set MODEL_VERSION to override the spec's version (e.g. from a release tag),
# BASE_IMAGE to override the spec's api.base_image, BUILD=0 to stop at the context,
# PYTHON to choose the interpreter (default: the one next to `opsml`).
set -euo pipefail

SPEC="${1:-flows/model_spec.yaml}"
OUT="${2:-build}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
OVERRIDE="${MODEL_VERSION:-}"

# 0. the opsml command and a Python that can import it
if ! command -v opsml >/dev/null 2>&1; then
    echo "ci_package.sh: the 'opsml' command is not on PATH." >&2
    echo "  Install it into this environment:  pip install -e \"$ROOT[server,prefect]\"" >&2
    echo "  or, in the checkout:               uv sync --all-extras && source .venv/bin/activate" >&2
    exit 127
fi
OPSML_BIN="$(command -v opsml)"
PYTHON="${PYTHON:-$(dirname "$OPSML_BIN")/python}"
if ! "$PYTHON" -c "import opsml" >/dev/null 2>&1; then
    echo "ci_package.sh: $PYTHON cannot import opsml; set PYTHON to the interpreter of the" >&2
    echo "  environment where opsml is installed (the one next to $OPSML_BIN)." >&2
    exit 127
fi
run_steps() { PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m flows.model_packaging "$@"; }

# 1. validate the spec before any work (exits non-zero with the reason)
MODEL_NAME="" MODEL_REPOSITORY="" MODEL_VERSION="" MODEL_ALIAS=""
spec_env="$(run_steps env "$SPEC")"
eval "$spec_env"
MODEL_VERSION="${OVERRIDE:-$MODEL_VERSION}"

# 2. pull the model; every file's digest is verified, card.json is written beside them
pull=(opsml models pull --quiet --force --name "$MODEL_NAME" --repository "$MODEL_REPOSITORY" --out "$OUT/model")
if [ -n "$MODEL_VERSION" ]; then pull+=(--version "$MODEL_VERSION")
elif [ -n "$MODEL_ALIAS" ]; then pull+=(--alias "$MODEL_ALIAS"); fi
"${pull[@]}"

# 3. build context, in-process smoke test, Kubernetes manifests, then (when an engine
#    answers) the image: built, started as its user, checked over HTTP
package=(package "$SPEC" --model-dir "$OUT/model" --out "$OUT")
if [ -n "${BASE_IMAGE:-}" ]; then package+=(--base-image "$BASE_IMAGE"); fi
if [ "${BUILD:-1}" = "0" ]; then package+=(--no-build); fi
run_steps "${package[@]}"
