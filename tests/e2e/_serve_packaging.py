"""Serve the packaging flow with the trigger of ``deployments/prefect.yaml`` (for the e2e test).

Run from the repository root with ``PREFECT_API_URL`` and ``OPSML_TRACKING_URI`` set::

    python -m tests.e2e._serve_packaging MODEL_NAME SPEC_PATH OUTPUT_DIR

The trigger is the yaml's, with ``opsml.name`` set to ``MODEL_NAME``, the
spec/output parameters set to the test's folders, and no credentials block
(the served flow's environment names the registry). The deployment is
``opsml-packaging/e2e-packaging-MODEL_NAME``: each test has its own, so an
automation left by an earlier test (it targets a deployment by id) never runs
this test's deployment.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def deployment_name(model_name: str) -> str:
    """One deployment per served model: another test's automation never targets this one."""
    return f"e2e-packaging-{model_name}"


def served_name(model_name: str) -> str:
    """The ``flow/deployment`` name to read the served deployment by."""
    return f"opsml-packaging/{deployment_name(model_name)}"


def main(name: str, spec_path: str, output_dir: str) -> None:
    import yaml
    from prefect import serve
    from prefect.events import DeploymentTriggerTypes
    from pydantic import TypeAdapter

    from flows.package_model import packaging

    config = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())
    deployment = next(
        d for d in config["deployments"] if d["entrypoint"] == "flows/package_model.py:packaging"
    )
    spec = dict(deployment["triggers"][0])
    spec["match"] = {**spec["match"], "opsml.name": name}
    # served without a credentials block or pull steps: the environment names the registry
    kept = {k: v for k, v in spec["parameters"].items() if k not in ("credentials", "model_dir")}
    spec["parameters"] = {
        **kept,
        "spec_path": spec_path,
        "output_dir": output_dir,
        "build": False,
    }
    trigger = TypeAdapter(DeploymentTriggerTypes).validate_python(spec)
    serve(
        packaging.to_deployment(
            name=deployment_name(name),
            triggers=[trigger],
            parameters={"spec_path": spec_path, "output_dir": output_dir, "build": False},
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
