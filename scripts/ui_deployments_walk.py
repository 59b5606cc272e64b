"""The deployment walk of issue 29 with real processes, ending in the UI's screenshots.

1. starts a registry server (``python -m opsml_server start``) on a free loopback
   port, SQLite under ``--out``, basic auth, ``APP_ENV=production`` with a
   production token; adds ``ds-alice`` and ``prefect-deployer`` (writers on
   ``ds-team``) and ``oncall`` (a global reader, who looks at the UI);
2. as ``ds-alice``, registers two versions of the scikit-learn model ``churn``
   (and two of ``fraud-detector``, so the page has more than one row);
3. with the command line as separate processes: ``opsml cards alias set champion``
   on v1.0.0, ``opsml deployments record --state packaged`` (image and digest) and
   ``--state deployed`` for ``production``'s ``k8s/ml-prod/churn-api``; then the
   same for v1.1.0 (which retires v1.0.0), v1.1.0 on staging too; then the
   rollback: ``champion`` back to v1.0.0 and ``deployed`` again (the image built
   for v1.0.0 is reused);
4. checks ``opsml deployments current --target k8s/ml-prod/churn-api`` names
   v1.0.0 and its digest, and takes the screenshots with Playwright driving
   Debian's chromium: ``docs/ui-deployments.png`` (the page ``/ui/deployments``)
   and ``docs/ui-card-deployments.png`` (the card page of v1.0.0 down to the end
   of its Deployments section).

Usage (from the repository root)::

    python scripts/ui_deployments_walk.py [--out /tmp/ui-walk] [--docs docs]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "scripts")]

from opsml_testing.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from opsml_testing.proc import Server, start  # noqa: E402

ADMIN = ("root", "walk-admin-password")
ALICE = ("ds-alice", "alice-password-123")
DEPLOYER = ("prefect-deployer", "deployer-password-123")
ONCALL = ("oncall", "oncall-password-123")
PROD_TOKEN = "walk-production-token-0123456789"
REPO = "ds-team"
PROD, STAGING = "k8s/ml-prod/churn-api", "k8s/ml-staging/churn-api"
PREFECT = "http://127.0.0.1:4200/runs/flow-run/"


def digest(image: str) -> str:
    """A stand-in image digest derived from the image reference."""
    return "sha256:" + hashlib.sha256(image.encode()).hexdigest()


def start_server(out: Path) -> Server:
    """The registry server, ready (``/readyz``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSML_") and k != "APP_ENV"}
    env.update({
        "OPSML_TRACKING_URI": f"sqlite:///{(out / 'registry.db').as_posix()}",
        "OPSML_STORAGE_URI": (out / "storage").as_posix(),
        "OPSML_USERNAME": ADMIN[0], "OPSML_PASSWORD": ADMIN[1],
        "APP_ENV": "production", "OPSML_PROD_TOKEN": PROD_TOKEN, "OPSML_LOG_LEVEL": "WARNING",
    })  # fmt: skip
    argv = [sys.executable, "-m", "opsml_server", "start", "--host", "127.0.0.1"]
    argv += ["--port", "{port}"]
    return start(argv, ready_path="/readyz", log_path=out / "server.log", env={}, base_env=env)


def add_users(url: str) -> None:
    """``ds-alice`` and ``prefect-deployer`` (writers on ``ds-team``), ``oncall`` (a global
    reader: the UI's pages need one).
    """
    import httpx

    headers = {"X-Opsml-Prod-Token": PROD_TOKEN}
    with httpx.Client(base_url=url, auth=ADMIN, headers=headers, trust_env=False) as client:
        for (name, password), grant in (
            (ALICE, {"role": "writer", "repository": REPO}),
            (DEPLOYER, {"role": "writer", "repository": REPO}),
            (ONCALL, {"role": "reader", "repository": None}),
        ):
            user = {"name": name, "password": password}
            client.post("/api/v1/users", json=user).raise_for_status()
            client.post(f"/api/v1/users/{name}/grants", json=grant).raise_for_status()


def register_models(url: str) -> None:
    """Two versions of ``churn`` and of ``fraud-detector`` (scikit-learn), as ``ds-alice``."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from opsml import CardRegistry, ModelCard
    from opsml.config import OpsmlSettings

    settings = OpsmlSettings(
        tracking_uri=url, username=ALICE[0], password=ALICE[1], prod_token=PROD_TOKEN
    )
    models = CardRegistry("model", settings=settings)
    frame = pd.DataFrame({"tenure": [1.0, 5.0, 9.0, 2.0], "spend": [10.0, 3.0, 8.0, 1.0]})
    for name in ("churn", "fraud-detector"):
        for c in (1.0, 0.5):
            card = ModelCard(
                name=name, repository=REPO, contact="ds-team@example.com",
                model=LogisticRegression(C=c).fit(frame, [0, 1, 1, 0]),
                sample_input=frame.head(2), description=f"Logistic regression, C={c}.",
                tags={"team": "ds"},
            )  # fmt: skip
            models.register_card(card, version_type="minor")


def opsml(user: tuple[str, str], url: str, *args: str) -> str:
    """Run the ``opsml`` command line as ``user``; its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSML_") and k != "APP_ENV"}
    env.update({"OPSML_TRACKING_URI": url, "OPSML_USERNAME": user[0],
                "OPSML_PASSWORD": user[1], "OPSML_PROD_TOKEN": PROD_TOKEN})  # fmt: skip
    cmd = [sys.executable, "-c", "from opsml.cli import app; app(prog_name='opsml')", *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"opsml {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    print(f"$ opsml {' '.join(args)}\n{done.stdout.strip()}")
    return done.stdout


def record(url: str, name: str, state: str, env: str, target: str, *extra: str) -> None:
    """``opsml deployments record`` for ``champion`` of ``name`` as the deployer."""
    run = str(uuid.uuid4())
    opsml(
        DEPLOYER, url, "deployments", "record", "--name", name, "--repository", REPO,
        "--alias", "champion", "--state", state, "--environment", env, "--target", target,
        "--flow-run-id", run, "--flow-run-url", PREFECT + run, *extra,
    )  # fmt: skip


def package_and_deploy(url: str, name: str, version: str, target: str, env: str) -> None:
    """Move ``champion`` to ``version``, record ``packaged`` (image, digest), then ``deployed``."""
    opsml(ALICE, url, "cards", "alias", "set", "champion", "--name", name,
          "--repository", REPO, "--version", version)  # fmt: skip
    image = f"registry.local/{name}-api:{version}"
    record(url, name, "packaged", env, target, "--image", image, "--image-digest", digest(image))
    record(url, name, "deployed", env, target)


def walk(url: str) -> dict[str, Any]:
    """The walk; returns what ``opsml deployments current`` says at its end."""
    package_and_deploy(url, "fraud-detector", "1.0.0", "k8s/ml-prod/fraud-api", "production")
    package_and_deploy(url, "fraud-detector", "1.1.0", "k8s/ml-staging/fraud-api", "staging")
    package_and_deploy(url, "churn", "1.0.0", PROD, "production")
    package_and_deploy(url, "churn", "1.1.0", PROD, "production")
    package_and_deploy(url, "churn", "1.1.0", STAGING, "staging")
    # the rollback: champion back to v1.0.0, deployed again (its image is reused)
    opsml(ALICE, url, "cards", "alias", "set", "champion", "--name", "churn",
          "--repository", REPO, "--version", "1.0.0")  # fmt: skip
    record(url, "churn", "deployed", "production", PROD)
    now = json.loads(opsml(DEPLOYER, url, "deployments", "current", "--target", PROD,
                           "--environment", "production", "--json"))  # fmt: skip
    opsml(DEPLOYER, url, "deployments", "current", "--target", PROD, "--environment", "production")
    wanted = digest("registry.local/churn-api:1.0.0")
    if (now["version"], now["image_digest"]) != ("1.0.0", wanted):
        raise SystemExit(f"after the rollback production serves {now}, not 1.0.0 with {wanted}")
    return dict(now)


def screenshots(url: str, uid: str, docs: Path) -> list[Path]:
    """``/ui/deployments`` and the card page of ``uid`` down to its Deployments section."""
    from playwright.sync_api import sync_playwright

    shots = [docs / "ui-deployments.png", docs / "ui-card-deployments.png"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                base_url=url, viewport={"width": 1280, "height": 900},
                http_credentials={"username": ONCALL[0], "password": ONCALL[1]},
            )  # fmt: skip
            page = context.new_page()
            page.goto("/ui/deployments")
            page.screenshot(path=str(shots[0]), full_page=True)
            page.goto(f"/ui/model/{uid}")
            box = page.locator("section.deployments").bounding_box()
            assert box is not None
            bottom = box["y"] + box["height"] + 16
            page.screenshot(
                path=str(shots[1]), full_page=True,
                clip={"x": 0, "y": 0, "width": 1280, "height": bottom},
            )  # fmt: skip
        finally:
            browser.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    """Run the walk and write the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("/tmp/opsml-ui-walk"))
    parser.add_argument("--docs", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    server = start_server(args.out)
    try:
        print(f"registry server at {server.url} (pid {server.pid})")
        add_users(server.url)
        register_models(server.url)
        now = walk(server.url)
        for shot in screenshots(server.url, now["uid"], args.docs):
            print(f"wrote {shot}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
