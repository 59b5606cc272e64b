#!/usr/bin/env bash
# Scenario 2 as a plain CI step (no Prefect needed): pull the model a spec names
# from the registry, then assemble, smoke-test, render manifests, build the image.
#
#   OPSML_TRACKING_URI=https://opsml.example.com flows/ci_package.sh flows/model_spec.yaml build
#
# Needs: the opsml package (opsml models pull) and the API's test dependencies
# (fastapi, httpx, pandas, scikit-learn, skops, pyyaml). A container engine is
# used when `docker info` answers; otherwise the build command is printed.
# Set MODEL_VERSION to override the spec's version (e.g. from a release tag).
set -euo pipefail

SPEC="${1:-flows/model_spec.yaml}"
OUT="${2:-build}"
PYTHON="${PYTHON:-python}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OVERRIDE="${MODEL_VERSION:-}"

# 1. validate the spec before any work (exits non-zero with the reason)
eval "$("$PYTHON" "$HERE/packaging_steps.py" env "$SPEC")"
MODEL_VERSION="${OVERRIDE:-$MODEL_VERSION}"

# 2. pull the model; every file's digest is verified, card.json is written beside them
rm -rf "$OUT/model"
pull=(opsml models pull --quiet --name "$MODEL_NAME" --repository "$MODEL_REPOSITORY" --out "$OUT/model")
if [ -n "$MODEL_VERSION" ]; then pull+=(--version "$MODEL_VERSION"); fi
"${pull[@]}"

# 3. build context, in-process smoke test, Kubernetes manifests, image (when an engine answers)
exec "$PYTHON" "$HERE/packaging_steps.py" package "$SPEC" --model-dir "$OUT/model" --out "$OUT"
