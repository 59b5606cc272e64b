"""Issue 28: the registry server's own image builds offline and runs against PostgreSQL.

``scripts/server_image.py`` prepares the context (every wheel hashed from
``uv.lock``, uv from its wheel, the project's wheel) and builds the root
``Dockerfile`` on the Debian base; then, from the image: ``opsml db upgrade``
on a scratch PostgreSQL database, the server's own command as its user,
``/readyz``, a model registered and downloaded through it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows import model_packaging as steps
from opsml_testing.databases import scratch_database

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
TAG = "localhost/opsml-server:test"


@pytest.fixture(scope="module")
def server_image(
    container_engine: Any, debian_base: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("server-image") / "context"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "server_image.py"),
            "--debian-base",
            "--engine",
            container_engine.name,
            "--tag",
            TAG,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary: dict[str, Any] = json.loads(done.stdout)
    print("\nserver image:", json.dumps({k: summary[k] for k in ("size_mb", "timings")}))
    return summary


@pytest.fixture
def database() -> Iterator[str]:
    with scratch_database("postgres") as url:
        yield url


def test_the_context_is_offline(server_image: dict[str, Any]) -> None:
    context = Path(server_image["context"])
    lines = (context / "requirements.txt").read_text().splitlines()
    assert all(" --hash=sha256:" in line for line in lines)
    names = {line.split("==")[0].lower() for line in lines}
    assert {"fastapi", "sqlalchemy", "psycopg", "s3fs", "gcsfs"} <= names
    assert "prefect" not in names and "pytest" not in names  # no dev or Prefect in the server
    [project] = (context / "project").glob("*.whl")
    assert project.name.startswith("opsml_prefect-0.1.0-py3-none-any")
    assert (context / "uv.txt").read_text().startswith("uv==")
    assert (context / ".dockerignore").read_text().startswith("# The .dockerignore")


def test_the_image_migrates_serves_and_stores_through_postgresql(
    server_image: dict[str, Any], container_engine: Any, database: str, tmp_path: Path
) -> None:
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    from opsml import CardRegistry, ModelCard

    info = steps.inspect_image(container_engine, TAG)
    assert info.user == "10001:10001" and info.digest == server_image["digest"]
    env = {"OPSML_TRACKING_URI": database}

    upgraded = steps.run_once(container_engine, info, ["opsml", "db", "upgrade"], env)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr

    with steps.running(
        container_engine,
        info,
        tmp_path,
        port_env="OPSML_SERVER_PORT",
        env=env,
        host_network=True,
    ) as (url, how):
        assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
        data = load_iris(as_frame=True)
        model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(data.data, data.target)
        registry = CardRegistry("model", tracking_uri=url)
        card = ModelCard(
            name="iris-in-image",
            repository="ops",
            contact="ops@example.com",
            model=model,
            sample_input=data.data.head(3),
        )
        registry.register_card(card)
        loaded = registry.load_card(name="iris-in-image", repository="ops")
        pulled = loaded.pull(tmp_path / "pulled")
        again = loaded.load_model()
    assert how in ("docker run", "podman run", "buildah run")
    assert (Path(pulled) / "card.json").is_file()
    assert list(again.predict(data.data.head(5))) == list(model.predict(data.data.head(5)))
