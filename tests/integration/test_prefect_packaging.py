"""Scenario 2: spec validation before any work, the packaging flow, and the CI script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows import model_packaging as steps

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def registry_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    from opsml import configure

    env = {
        "OPSML_TRACKING_URI": f"sqlite:///{(tmp_path / 'reg.db').as_posix()}",
        "OPSML_STORAGE_URI": (tmp_path / "artifacts").as_posix(),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    configure()
    yield env
    monkeypatch.undo()
    configure()


def _register(name: str = "iris-classifier", version_type: str = "minor") -> Any:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from opsml import CardRegistry, ModelCard

    data = load_iris(as_frame=True)
    model = LogisticRegression(max_iter=500).fit(data.data, data.target)
    card = ModelCard(
        name=name,
        repository="ds-team",
        contact="ds@example.com",
        model=model,
        sample_input=data.data.head(5),
    )
    return CardRegistry("model").register_card(card, version_type=version_type)


def _write_spec(tmp_path: Path, text: str | None = None, **model: str) -> Path:
    shutil.copytree(REPO_ROOT / "flows" / "model_api", tmp_path / "model_api", dirs_exist_ok=True)
    path = tmp_path / "spec.yaml"
    if text is None:
        spec = yaml.safe_load((REPO_ROOT / "flows" / "model_spec.yaml").read_text())
        spec["model"].update(model)
        text = yaml.safe_dump(spec)
    path.write_text(text)
    return path


# -- the spec is checked before any work -------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model: [unclosed\n", "is not valid YAML at line"),
        ("- just\n- a list\n", "must be a mapping with 'model' and 'api' sections"),
        ("api:\n  image: example.com/iris-api\n", "model: Field required"),
        (
            "model: {name: iris, repository: ds}\napi: {image: example.com/iris-api:1.0}\n",
            "the tag is set from the model version",
        ),
        (
            "model: {name: iris, repository: ds}\napi: {image: example.com/x}\nextra: 1\n",
            "extra: Extra inputs are not permitted",
        ),
    ],
)
def test_malformed_specs_fail_with_a_clear_message(tmp_path: Path, text: str, message: str) -> None:
    path = _write_spec(tmp_path, text)
    with pytest.raises(steps.SpecError, match="model spec .*spec.yaml") as info:
        steps.load_spec(path)
    assert message in str(info.value)


def test_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(steps.SpecError, match="no such file"):
        steps.load_spec(tmp_path / "nope.yaml")


def test_unknown_model_or_version_fails_naming_what_exists(
    tmp_path: Path, registry_env: dict[str, str]
) -> None:
    _register()
    missing = steps.load_spec(_write_spec(tmp_path, name="no-such-model"))
    with pytest.raises(steps.SpecError, match="no-such-model, which is not in the registry"):
        steps.resolve_model(missing)
    unknown = steps.load_spec(_write_spec(tmp_path, version="^7"))
    with pytest.raises(steps.SpecError, match=r"version '\^7'.*registered: 1\.0\.0"):
        steps.resolve_model(unknown)
    malformed = steps.load_spec(_write_spec(tmp_path, version="not a version"))
    with pytest.raises(steps.SpecError, match="not a valid version spec"):
        steps.resolve_model(malformed)
    assert steps.resolve_model(unknown, version="1.0.0").version == "1.0.0"


@pytest.mark.parametrize("case", ["malformed", "missing-model", "unknown-version"])
def test_packaging_flow_fails_before_any_work(
    prefect_api: str, registry_env: dict[str, str], tmp_path: Path, case: str
) -> None:
    from flows.package_model import packaging

    _register()
    spec = {
        "malformed": lambda: _write_spec(tmp_path, "model: {name: [\n"),
        "missing-model": lambda: _write_spec(tmp_path, name="ghost"),
        "unknown-version": lambda: _write_spec(tmp_path, version="2.0.0"),
    }[case]()
    out = tmp_path / "build"
    state = packaging(spec_path=str(spec), output_dir=str(out), build=False, return_state=True)
    assert state.is_failed()
    with pytest.raises(steps.SpecError) as info:
        state.result()
    assert "model spec" in str(info.value)
    assert not out.exists()  # nothing pulled, nothing written


# -- the flow and the CI script ----------------------------------------------------


def test_packaging_flow_builds_a_tested_context(
    prefect_api: str, registry_env: dict[str, str], tmp_path: Path
) -> None:
    from flows.package_model import packaging

    _register()
    card = _register(version_type="build")  # 1.0.0+build.1: '+' is not allowed in image tags
    spec = _write_spec(tmp_path, version=card.version)
    started = time.perf_counter()
    result = packaging(spec_path=str(spec), output_dir=str(tmp_path / "build"), build=False)
    print(
        f"\npackaging flow wall {time.perf_counter() - started:.2f} s "
        f"(body {result['timings']['flow_seconds']:.2f} s)"
    )
    assert result["version"] == card.version == "1.0.0+build.1"
    assert result["image"] == "registry.example.com/ds-team/iris-api:1.0.0-build.1"
    context = Path(result["context"])
    assert {p.name for p in context.iterdir()} >= {
        "app.py",
        "Dockerfile",
        "requirements.txt",
        "model",
        ".dockerignore",
    }
    requirements = (context / "requirements.txt").read_text().splitlines()
    sklearn_version = card.model_info["library_versions"]["sklearn"]
    assert any(line.startswith(f"scikit-learn=={sklearn_version} ") for line in requirements)
    assert all("==" in line and " --hash=sha256:" in line for line in requirements)
    assert len(list((context / "wheels").glob("*.whl"))) == len(requirements)
    assert result["smoke_test"]["predictions"] == card.signature["sample_output"]
    deployment = yaml.safe_load(Path(result["manifests"][0]).read_text())
    assert deployment["kind"] == "Deployment" and deployment["spec"]["replicas"] == 2
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == result["image"]
    assert container["resources"]["limits"]["memory"] == "512Mi"
    service = yaml.safe_load(Path(result["manifests"][1]).read_text())
    assert service["kind"] == "Service"
    assert result["built"] is False and result["command"].startswith("docker build --tag ")

    # the rendered files pass the offline linters/validators of the project's toolchain
    bindir = Path(sys.executable).parent
    for tool, args in (
        ("hadolint", [str(context / "Dockerfile")]),
        ("kubernetes-validate", ["--strict", *result["manifests"]]),
    ):
        if (bindir / tool).exists():
            done = subprocess.run(
                [str(bindir / tool), *args], capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, f"{tool}: {done.stdout}{done.stderr}"


def test_smoke_test_catches_a_wrong_answer(registry_env: dict[str, str], tmp_path: Path) -> None:
    import json

    card = _register()
    spec = steps.load_spec(_write_spec(tmp_path))
    model_dir = card.pull(tmp_path / "model")
    public = json.loads((model_dir / "card.json").read_text())
    public["metadata"]["model"]["signature"]["sample_output"] = [9, 9, 9, 9, 9]
    (model_dir / "card.json").write_text(json.dumps(public))
    context = steps.assemble_context(spec, tmp_path, model_dir, tmp_path / "out")
    with pytest.raises(steps.SmokeTestError, match="the card recorded"):
        steps.smoke_test(context)


def test_ci_script_pulls_and_packages_without_prefect(
    registry_env: dict[str, str], tmp_path: Path
) -> None:
    card = _register()
    spec = _write_spec(tmp_path)
    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        **registry_env,
        "PYTHON": sys.executable,
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "BUILD": "0",  # the image itself: tests/integration/test_model_image.py
    }
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run(
        ["bash", str(REPO_ROOT / "flows" / "ci_package.sh"), str(spec), str(tmp_path / "ci")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"pulled model ds-team/iris-classifier v{card.version}" in done.stdout
    assert (tmp_path / "ci" / "context" / "Dockerfile").is_file()
    assert (tmp_path / "ci" / "k8s" / "deployment.yaml").is_file()
    assert "build --tag registry.example.com/ds-team/iris-api:1.0.0" in done.stderr

    bad = _write_spec(tmp_path, version="^5")
    failed = subprocess.run(
        ["bash", str(REPO_ROOT / "flows" / "ci_package.sh"), str(bad), str(tmp_path / "ci2")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert failed.returncode != 0
    assert not (tmp_path / "ci2" / "context").exists()


def test_item_1_build_context_is_readable_by_the_images_user(
    registry_env: dict[str, str], tmp_path: Path
) -> None:
    import stat

    card = _register()
    spec = steps.load_spec(_write_spec(tmp_path))
    old = os.umask(0o077)  # even a private pull makes a context the image's user can read
    try:
        model_dir = card.pull(tmp_path / "model")
        context = steps.assemble_context(spec, tmp_path, model_dir, tmp_path / "out")
    finally:
        os.umask(old)
    assert steps.not_readable_by_all(context) == []
    skops = context / "model" / "model" / "model.skops"
    assert stat.S_IMODE(skops.stat().st_mode) & stat.S_IROTH
    assert steps.smoke_test(context)["predictions"]
    skops.chmod(0o600)  # what every pull gave before the fix: USER 10001 could not read it
    with pytest.raises(steps.SmokeTestError, match=r"other users cannot read.*model\.skops"):
        steps.smoke_test(context)


def test_item_15_ci_script_outside_the_environment_says_how_to_install(tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("bash", "dirname", "env"):
        found = shutil.which(tool)
        assert found
        (bare / tool).symlink_to(found)
    env = {"PATH": str(bare), "HOME": str(tmp_path)}
    done = subprocess.run(
        ["bash", str(REPO_ROOT / "flows" / "ci_package.sh"), "flows/model_spec.yaml", "build"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert done.returncode == 127, done.stderr
    assert "the 'opsml' command is not on PATH" in done.stderr
    assert "pip install" in done.stderr
    assert "unbound variable" not in done.stderr and "Traceback" not in done.stderr


def test_image_tags_from_versions() -> None:
    assert steps.image_tag("1.2.0") == "1.2.0"
    assert steps.image_tag("1.2.0-rc.1+build.3") == "1.2.0-rc.1-build.3"


def test_spec_takes_an_alias_in_place_of_version(
    tmp_path: Path, registry_env: dict[str, str]
) -> None:
    from opsml import CardRegistry

    first = _register()
    _register(version_type="patch")
    spec_file = _write_spec(tmp_path)
    raw = yaml.safe_load(spec_file.read_text())
    raw["model"].pop("version")
    raw["model"]["alias"] = "champion"
    spec_file.write_text(yaml.safe_dump(raw))
    spec = steps.load_spec(spec_file)
    with pytest.raises(steps.SpecError, match="alias 'champion', which is not set"):
        steps.resolve_model(spec)
    CardRegistry("model").set_alias(first, "champion")
    assert steps.resolve_model(spec).version == "1.0.0"
    assert steps.resolve_model(spec, version="1.0.1").version == "1.0.1"  # the event's
    raw["model"]["version"] = "^1"
    spec_file.write_text(yaml.safe_dump(raw))
    with pytest.raises(steps.SpecError, match="not both"):
        steps.load_spec(spec_file)
    raw["model"].pop("version")
    raw["model"]["alias"] = "Champion"
    spec_file.write_text(yaml.safe_dump(raw))
    with pytest.raises(steps.SpecError, match="not a valid alias"):
        steps.load_spec(spec_file)


# -- the registry records what the packaging made (issue 29, item 3) ---------------


def _deploy_spec(tmp_path: Path, target: str = "k8s/models/iris-api") -> Path:
    path = tmp_path / "deploy_spec.yaml"
    path.write_text(f"target: {target}\n")
    return path


def test_packaging_records_packaged_with_its_image(
    prefect_api: str, registry_env: dict[str, str], tmp_path: Path
) -> None:
    from flows.package_model import packaging
    from opsml import CardRegistry

    card = _register()
    spec = _write_spec(tmp_path)
    deploy = _deploy_spec(tmp_path)
    result = packaging(
        spec_path=str(spec),
        output_dir=str(tmp_path / "build"),
        build=False,
        deploy_spec_path=str(deploy),
    )
    [record] = CardRegistry("model").list_deployments(card=card).items
    assert (record.state, record.target, record.uid) == (
        "packaged",
        "k8s/models/iris-api",
        card.uid,
    )
    assert record.image == result["image"] and record.image_digest is None  # not built here
    assert record.flow_run_id  # the packaging run that made it


def test_a_failed_packaging_records_the_step_and_reason(
    prefect_api: str, registry_env: dict[str, str], tmp_path: Path
) -> None:
    from flows.package_model import packaging
    from opsml import CardRegistry

    card = _register()
    spec = _write_spec(tmp_path)
    (tmp_path / "model_api" / "app.py").unlink()  # the context step cannot find the API
    state = packaging(
        spec_path=str(spec),
        output_dir=str(tmp_path / "build"),
        build=False,
        deploy_spec_path=str(_deploy_spec(tmp_path)),
        return_state=True,
    )
    assert state.is_failed()
    [record] = CardRegistry("model").list_deployments(card=card).items
    assert record.state == "failed" and record.detail["step"] == "context"
    assert "no app.py" in record.detail["reason"]
