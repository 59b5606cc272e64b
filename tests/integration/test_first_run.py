"""Issue 11 item 18: a newcomer's first run is quiet and says where things are."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from opsml_testing.live_server import running_server

ROOT = Path(__file__).resolve().parents[2]


def test_item_18_startup_log_says_where_database_and_artifacts_are(
    tmp_path: Path, postgres_url: str
) -> None:
    from sqlalchemy.engine import make_url

    secret = "not-a-real-pw-7c1e"  # PostgreSQL here trusts loopback: the password is unused
    db_url = make_url(postgres_url).set(password=secret).render_as_string(hide_password=False)
    with running_server(tmp_path, db_url=db_url, env={"OPSML_LOG_LEVEL": "INFO"}) as server:
        log = server.log()
    ready = [line for line in log.splitlines() if "registry server ready" in line]
    assert ready, log
    shown = make_url(db_url).render_as_string(hide_password=True)  # user:***@host
    assert f"database {shown}" in ready[0]
    assert f"artifacts {server.storage_root.resolve().as_posix()}" in ready[0]
    assert secret not in log


def test_item_18_uv_run_prints_no_bytecode_line() -> None:
    # `compile-bytecode` in [tool.uv] makes every `uv run` recompile the whole environment
    # and print "Bytecode compiled N files" (astral-sh/uv#12202): compile at sync instead
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "compile-bytecode" not in pyproject.get("tool", {}).get("uv", {})
    for path in (ROOT / "README.md", ROOT / ".ci" / "run"):
        syncs = [line for line in path.read_text().splitlines() if "uv sync --frozen" in line]
        assert syncs and all("--compile-bytecode" in line for line in syncs), path
    if shutil.which("uv") is None:
        pytest.skip("uv is not installed here: the configuration checks above still ran")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    out = subprocess.run(
        ["uv", "run", "--frozen", "--all-extras", "python", "-c", "pass"],
        cwd=ROOT,
        env={**env, "UV_PYTHON_DOWNLOADS": "never"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "Bytecode compiled" not in out.stderr + out.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The README's main job, run once as a newcomer runs it (no OPSML_/PREFECT_ settings)."""
    tmp_path = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSML_", "PREFECT_"))}
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run_demo.py"), "--out", str(tmp_path / "d")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-4000:]
    return tmp_path / "d", out


@pytest.mark.slow
def test_item_18_demo_is_quiet_and_says_where(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, out = demo
    for noise in ("Traceback", "ERROR", "telemetry", "Warning:", "database is locked"):
        assert noise not in out.stderr, out.stderr[-4000:]
    registry = (folder / "registry").as_posix()
    where = f"database sqlite:///{registry}/registry.db, artifacts {registry}/artifacts"
    assert where in out.stdout
    assert "opsml cards list --registry model" in out.stdout
    assert "opsml cards show " in out.stdout
    assert f"OPSML_TRACKING_URI=sqlite:///{registry}/registry.db opsml ui" in out.stdout


@pytest.mark.slow
def test_demo_runs_the_whole_loop(demo: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    """Train and sign twice, ship each through an approval, roll back: the summary says so."""
    summary = json.loads((demo[0] / "summary.json").read_text())
    assert summary["signature of v1"]["verified"] is True
    steps = summary["steps"]
    assert list(steps) == ["ship v1", "ship v2", "roll back to v1"]
    for step in steps.values():
        assert "protected" in step["approval"]["direct move"]
        assert step["approval"]["requested by"] == "ds-alice"
        assert step["approval"]["approved by"] == "eng-bob"
    assert [s["version"] for s in steps.values()] == ["1.0.0", "1.1.0", "1.0.0"]
    deployed = [(r["version"], r["state"]) for r in summary["deployment history"]]
    assert [d for d in deployed if d[1] == "deployed"] == [
        ("1.0.0", "deployed"),
        ("1.1.0", "deployed"),
        ("1.0.0", "deployed"),
    ]
    assert deployed.count(("1.1.0", "retired")) == 1
    assert summary["serving now"]["version"] == "1.0.0"
    if steps["ship v1"]["image built"]:  # an engine answered: the rollback serves v1's image
        rollback = steps["roll back to v1"]
        assert rollback["image digest"] == steps["ship v1"]["image digest"]
        # the image built for v1 was checked again, not rebuilt from the layer cache
        assert [s["image reused"] for s in steps.values()] == [False, False, True], steps
        logs = [
            demo[0] / "build" / f"iris-classifier-{v}" / "image-build.log"
            for v in ("1.0.0", "1.1.0")
        ]
        assert logs[0].stat().st_mtime < logs[1].stat().st_mtime  # v1's log: from its one build


def _path_without_engines(folder: Path) -> str:
    """A PATH with every command of this one except the container engines (symlinks)."""
    folder.mkdir()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not Path(directory).is_dir():
            continue
        for command in Path(directory).iterdir():
            link = folder / command.name
            if command.name not in ENGINES and not link.exists() and not link.is_symlink():
                link.symlink_to(command)
    return str(folder)


ENGINES = ("docker", "podman", "buildah")


@pytest.mark.slow
def test_demo_without_a_container_engine_says_no_image_was_built(tmp_path: Path) -> None:
    """The main job on a machine with no engine: the whole loop runs, no image is built."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSML_", "PREFECT_"))}
    env["PATH"] = _path_without_engines(tmp_path / "bin")
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run_demo.py"), "--out", str(tmp_path / "d")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-4000:]
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert summary["images"].startswith("no image was built: no container engine answered")
    steps = summary["steps"]
    assert [s["version"] for s in steps.values()] == ["1.0.0", "1.1.0", "1.0.0"]
    for step in steps.values():
        assert step["image built"] is False and step["no image"] == summary["images"]
        assert "image digest" not in step and "image reused" not in step
        assert step["build command"].startswith("docker build --tag registry.example.com/")
        assert Path(step["build context"], "Dockerfile").is_file()
    assert summary["serving now"]["version"] == "1.0.0"  # recorded, with no digest
    assert {r["digest"] for r in summary["deployment history"]} == {None}
    assert "no image was built" in out.stdout
    assert "No container engine answered (docker, podman or buildah)" in out.stderr
