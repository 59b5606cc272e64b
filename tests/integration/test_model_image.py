"""Issue 28: the packaging builds the serving image, starts it as its user and checks it over HTTP.

Real engines only (podman or buildah here; docs/design.md §16): the image is built from
the offline context on a base made from Debian's packages, started with the
engine (or ``buildah run --isolation chroot`` where the engine cannot start a
container), and checked over HTTP. Each kind of bad input ends in one line
naming the step, the image and the log's tail, with the build folder kept.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows import model_packaging as steps
from flows.model_packaging.cli import package
from tests.integration.test_prefect_packaging import _register, _write_spec

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An embedded registry holding the iris model (module-wide: one build serves many checks)."""
    from opsml import configure

    root = tmp_path_factory.mktemp("registry")
    patch = pytest.MonkeyPatch()
    patch.setenv("OPSML_TRACKING_URI", f"sqlite:///{(root / 'reg.db').as_posix()}")
    patch.setenv("OPSML_STORAGE_URI", (root / "artifacts").as_posix())
    configure()
    card = _register()
    yield card
    patch.undo()
    configure()


@pytest.fixture(scope="module")
def pulled(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(registry.pull(tmp_path_factory.mktemp("pulled") / "model"))


@pytest.fixture(scope="module")
def packaged(
    pulled: Path, debian_base: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The iris model packaged end to end: context, smoke test, manifests, build, start, check."""
    root = tmp_path_factory.mktemp("packaged")
    spec = _write_spec(root)
    result = package(spec, pulled, root / "out", base_image=debian_base)
    print("\nmodel image:", json.dumps({k: result[k] for k in ("size_mb", "timings")}))
    return result


def test_the_image_is_built_started_as_its_user_and_answers(
    packaged: dict[str, Any], registry: Any, container_engine: Any
) -> None:
    assert packaged["built"] is True
    assert packaged["image"] == "registry.example.com/ds-team/iris-api:1.0.0"
    assert packaged["digest"].startswith("sha256:") and len(packaged["digest"]) == 71
    assert packaged["user"] == "10001"
    assert packaged["labels"]["ai.opsml.model.uid"] == registry.uid
    assert packaged["labels"]["ai.opsml.model.version"] == registry.version
    check = packaged["check"]
    assert check["predictions"] == registry.signature["sample_output"]
    assert check["refused"] == 2  # a missing column and a text value, each a 422
    assert check["started_with"] in ("docker run", "podman run", "buildah run")
    assert set(packaged["timings"]) == {"build", "check"}
    # The image on the Debian base holds no wheels, no pip and no test suites.
    assert packaged["size_mb"] < 715, packaged["size_mb"]
    info = steps.inspect_image(container_engine, packaged["image"])
    assert info.digest == packaged["digest"] and info.user == "10001"


def test_the_context_is_offline_and_follows_the_card(
    packaged: dict[str, Any], registry: Any
) -> None:
    context = Path(packaged["context"])
    lines = (context / "requirements.txt").read_text().splitlines()
    assert lines and all(" --hash=sha256:" in line and "==" in line for line in lines)
    names = {line.split("==")[0].lower() for line in lines}
    sklearn = registry.model_info["library_versions"]["sklearn"]
    assert any(line.startswith(f"scikit-learn=={sklearn} ") for line in lines)
    assert {"fastapi", "uvicorn", "skops", "numpy", "pandas"} <= names
    assert not names & {"xgboost", "xgboost-cpu", "lightgbm", "onnxruntime"}  # other interfaces
    wheels = {p.name for p in (context / "wheels").iterdir()}
    assert len(wheels) == len(lines) and all(w.endswith(".whl") for w in wheels)
    dockerfile = (context / "Dockerfile").read_text()
    assert "--no-index" in dockerfile and "--require-hashes" in dockerfile


def test_a_wrong_answer_over_http_is_one_clear_line(
    packaged: dict[str, Any], pulled: Path, container_engine: Any, tmp_path: Path
) -> None:
    info = steps.inspect_image(container_engine, packaged["image"])
    card = json.loads((pulled / "card.json").read_text())
    card["metadata"]["model"]["signature"]["sample_output"] = [9, 9, 9, 9, 9]
    with pytest.raises(steps.PackagingError) as caught:
        steps.check_image(container_engine, info, card, tmp_path)
    message = str(caught.value)
    assert message.startswith(f"HTTP check of {packaged['image']} failed: POST /predict answered")
    assert "the card recorded [9, 9, 9, 9, 9]" in message and "\n" not in message


def test_labels_that_name_another_model_are_refused(
    packaged: dict[str, Any], container_engine: Any
) -> None:
    info = steps.inspect_image(container_engine, packaged["image"])
    with pytest.raises(steps.PackagingError, match="label check of .* failed: labels"):
        steps.check_labels(info, {"uid": "0" * 32, "version": "9.9.9"})


def _api_code(root: Path, dockerfile: str | None = None, app: str | None = None) -> Path:
    """Replace the Dockerfile template or app.py of the API copy that ``_write_spec`` made."""
    code = root / "model_api"
    if dockerfile is not None:
        (code / "Dockerfile.template").write_text(dockerfile)
    if app is not None:
        (code / "app.py").write_text(app)
    return code


def _failing_spec(root: Path, base: str) -> Path:
    spec = _write_spec(root)
    data = yaml.safe_load(spec.read_text())
    data["api"]["base_image"] = base
    spec.write_text(yaml.safe_dump(data))
    return spec


def _failure(spec: Path, model: Path, out: Path, engine: Any, image: str) -> steps.PackagingError:
    """Build-and-check a context assembled without the in-process smoke test."""
    loaded = steps.load_spec(spec)
    context = steps.assemble_context(loaded, spec.parent, model, out)
    with pytest.raises(steps.PackagingError) as caught:
        steps.build_and_check(engine, context, image, out, start_timeout=8)
    assert "\n" not in str(caught.value)
    assert f"build folder kept: {out}" in str(caught.value)
    assert (out / "context" / "Dockerfile").is_file()  # kept for inspection
    return caught.value


def test_a_base_image_that_does_not_exist(
    pulled: Path, container_engine: Any, tmp_path: Path
) -> None:
    spec = _failing_spec(tmp_path, "localhost/opsml-no-such-base:1")
    error = _failure(spec, pulled, tmp_path / "out", container_engine, "localhost/iris-x:1")
    assert error.step == "build"
    assert "opsml-no-such-base" in error.log
    assert "the base image could not be had: set the spec's api.base_image" in error.reason


def test_a_failing_build(
    pulled: Path, container_engine: Any, debian_base: str, tmp_path: Path
) -> None:
    spec = _failing_spec(tmp_path, debian_base)
    _api_code(tmp_path, dockerfile="FROM ${base_image}\nRUN echo broken-step && exit 3\n")
    error = _failure(spec, pulled, tmp_path / "out", container_engine, "localhost/iris-x:2")
    assert error.step == "build" and "exited" in error.reason
    assert "broken-step" in (tmp_path / "out" / "image-build.log").read_text()


_TINY = """FROM ${base_image}
COPY app.py /app/app.py
LABEL ai.opsml.model.uid="${model_uid}" ai.opsml.model.version="${model_version}"
USER 10001
CMD ["python3", "/app/app.py"]
"""


def test_an_image_whose_api_dies_at_start(
    pulled: Path, container_engine: Any, debian_base: str, tmp_path: Path
) -> None:
    app = "raise SystemExit('model file unreadable: start-up failed')\n"
    spec = _failing_spec(tmp_path, debian_base)
    _api_code(tmp_path, dockerfile=_TINY, app=app)
    error = _failure(spec, pulled, tmp_path / "out", container_engine, "localhost/iris-x:3")
    assert error.step == "start" and "exited before /healthz answered" in error.reason
    assert "start-up failed" in error.log


def test_an_image_that_never_answers_healthz(
    pulled: Path, container_engine: Any, debian_base: str, tmp_path: Path
) -> None:
    spec = _failing_spec(tmp_path, debian_base)
    _api_code(tmp_path, dockerfile=_TINY, app="import time\ntime.sleep(600)\n")
    error = _failure(spec, pulled, tmp_path / "out", container_engine, "localhost/iris-x:4")
    assert error.step == "start" and "/healthz did not answer within 8 s" in error.reason
    leftovers = subprocess.run(
        ["pgrep", "-f", "python3 /app/app.py"], capture_output=True, text=True
    )
    assert leftovers.stdout.strip() == "", "the container's process was stopped"


def test_a_wheel_that_does_not_resolve_for_the_platform(pulled: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(pulled, model)
    card = json.loads((model / "card.json").read_text())
    card["metadata"]["model"]["library_versions"]["sklearn"] = "0.0.1"
    (model / "card.json").write_text(json.dumps(card))
    spec = steps.load_spec(_write_spec(tmp_path))
    with pytest.raises(steps.WheelError) as caught:
        steps.assemble_context(spec, tmp_path, model, tmp_path / "out")
    message = str(caught.value)
    assert "no wheels for Python 3.11" in message and "scikit-learn==0.0.1" in message
    assert "\n" not in message


def test_an_image_built_before_is_checked_not_rebuilt(
    packaged: dict[str, Any], container_engine: Any, tmp_path: Path
) -> None:
    context = Path(packaged["context"])
    image, digest = packaged["image"], packaged["digest"]
    reused = steps.image_step(
        context, image, tmp_path, build=True, engine=None, reuse_digest=digest
    )
    assert reused["reused"] is True and reused["digest"] == digest
    assert reused["timings"]["build"] == 0.0 and reused["check"]["refused"] == 2
    assert not (tmp_path / "image-build.log").exists()  # nothing was built
    other = "sha256:" + "0" * 64  # recorded for another build: build it again
    assert steps.reuse_image(container_engine, context, image, tmp_path, other) is None


def test_an_image_built_before_is_found_by_digest_when_its_tag_names_another(
    packaged: dict[str, Any], container_engine: Any, debian_base: str, tmp_path: Path
) -> None:
    # The tag is shared: another registry's v1.0.0 packaged since takes it; the recorded
    # image stays in the store, is found by its digest, tagged again and checked
    context, digest = Path(packaged["context"]), packaged["digest"]
    moved = "localhost/opsml-test/iris-api-moved:1.0.0"  # not the module's tag: others use it
    steps.tag_image(container_engine, debian_base, moved)
    try:
        reused = steps.image_step(
            context, moved, tmp_path, build=True, engine=None, reuse_digest=digest
        )
        assert reused["reused"] is True and reused["retagged"] is True
        assert reused["digest"] == digest and reused["check"]["refused"] == 2
        assert not (tmp_path / "image-build.log").exists()  # nothing was built
        assert steps.inspect_image(container_engine, moved).digest == digest
    finally:
        name = container_engine.name
        untag = [name, "untag", moved, moved] if name == "podman" else [name, "rmi", moved]
        subprocess.run(untag, capture_output=True, check=False)
