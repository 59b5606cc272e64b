"""The ``set_project_directory`` pull step: a worker without ``OPSML_PROJECT_DIR`` (or with
one naming a folder that does not hold the project) fails at the pull step, with a message
saying what to set and to what, instead of passing the pull steps and crashing later with a
``FileNotFoundError`` in the run's temporary folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from opsml.errors import ConfigurationError
from opsml_prefect.deployments.steps import set_project_directory

REPO_ROOT = Path(__file__).resolve().parents[2]
STEP = "opsml_prefect.deployments.steps.set_project_directory"
NEEDS = ["flows/package_model.py", "flows/model_spec.yaml"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder holding what the packaging flow needs."""
    root = tmp_path / "checkout"
    for rel in NEEDS:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("# the project\n")
    return root


@pytest.fixture
def worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A worker's run folder as the current directory, and no OPSML_PROJECT_DIR."""
    run_folder = tmp_path / "tmp-run-prefect"
    run_folder.mkdir()
    monkeypatch.chdir(run_folder)
    monkeypatch.delenv("OPSML_PROJECT_DIR", raising=False)
    yield run_folder


def _refused(directory: str | None, match: str) -> str:
    """The step's error (it must not change directory)."""
    before = Path.cwd()
    with pytest.raises(ConfigurationError, match=match) as caught:
        set_project_directory(directory, expects=NEEDS)
    assert Path.cwd() == before
    return caught.value.message


@pytest.mark.parametrize("directory", ["", None, "{{ $OPSML_PROJECT_DIR }}", "  "])
def test_unset_variable_fails_at_the_step_naming_what_to_set(
    worker: Path, directory: str | None
) -> None:
    """Prefect fills ``{{ $OPSML_PROJECT_DIR }}`` with an empty string on a worker without it."""
    message = _refused(directory, "OPSML_PROJECT_DIR is not set")
    assert "absolute path" in message and "flows/package_model.py" in message
    assert "prefect worker start" in message  # how to set it


def test_a_folder_that_is_not_there_is_named(
    worker: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such-checkout"
    monkeypatch.setenv("OPSML_PROJECT_DIR", str(missing))
    message = _refused(str(missing), "not a folder on this worker")
    assert f"OPSML_PROJECT_DIR={missing}" in message


def test_a_folder_without_the_project_names_the_missing_files(
    worker: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "flows" / "model_spec.yaml").unlink()
    monkeypatch.setenv("OPSML_PROJECT_DIR", str(project / "flows"))  # one level too deep
    message = _refused(str(project / "flows"), "does not hold the project")
    assert "flows/package_model.py" in message and "flows/model_spec.yaml" in message
    assert "set OPSML_PROJECT_DIR to the absolute path" in message


def test_a_relative_folder_is_refused(worker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker runs each flow run in a temporary folder: a relative path means nothing."""
    monkeypatch.setenv("OPSML_PROJECT_DIR", "checkout")
    _refused("checkout", "absolute path")


def test_a_value_frozen_at_deploy_time_says_so(
    worker: Path, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``prefect deploy`` run with OPSML_PROJECT_DIR set froze its value into the deployment:
    the worker's own value is not the one used, and the message says where it came from.
    """
    monkeypatch.setenv("OPSML_PROJECT_DIR", str(project))
    message = _refused(str(tmp_path / "deployer-checkout"), "not a folder")
    assert "prefect deploy" in message and "frozen" in message


def test_the_project_folder_becomes_the_working_directory(
    worker: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSML_PROJECT_DIR", str(project))
    assert set_project_directory(str(project), expects=NEEDS) == {"directory": str(project)}
    assert Path.cwd() == project
    monkeypatch.chdir(worker)
    assert set_project_directory(expects=NEEDS) == {"directory": str(project)}  # read on the worker
    assert Path.cwd() == project


def test_prefect_yaml_checks_the_files_its_flows_need() -> None:
    """Every pull section of deployments/prefect.yaml starts with the checking step, whose
    ``expects`` hold the entrypoints of the deployments that use it (and exist here).
    """
    config = yaml.safe_load((REPO_ROOT / "deployments" / "prefect.yaml").read_text())
    for deployment in config["deployments"]:
        pull = deployment.get("pull", config["pull"])
        first = pull[0]
        assert list(first) == [STEP], deployment["name"]
        args = first[STEP]
        assert args["directory"] == "{{ $OPSML_PROJECT_DIR }}"  # read on the worker
        entrypoint = deployment["entrypoint"].split(":")[0]
        assert entrypoint in args["expects"], deployment["name"]
        for rel in args["expects"]:
            assert (REPO_ROOT / rel).exists(), rel
