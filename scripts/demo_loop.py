"""The whole loop of the main job: train, sign, approve, package and serve, record, roll back.

:func:`run_loop` runs, against the registry of ``OPSML_TRACKING_URI`` (a server
started with ``OPSML_PROTECTED_ALIASES=champion``, no authentication):

1. makes a signing key pair (elliptic curve P-256, PEM) and trains twice with
   ``OPSML_SIGNING_KEY`` set, so every card the training flow registers is signed;
2. for each version: ``ds-alice`` asks for ``champion`` to move to it (a direct
   move is refused: the alias is protected), ``eng-bob`` approves, the packaging
   flow packages the champion (its spec requires a signature by the demo's
   public key), builds and checks the image where an engine answers, and records
   ``packaged``; the deploy flow records ``deployed`` (record-only: no cluster),
   which retires what the target served before;
3. rolls back: ``champion`` moves back to the first version (asked and approved
   again), and the same two flows run; the packaging reuses the image built for
   that version;
4. returns each step's results and the target's deployment history.

Who acts is declared (``OPSML_ACTOR``, through :func:`opsml.configure`): the
demo's server has no authentication, so the two people are names, as they are
on any registry without logins (docs/security.md).

Example:
    >>> result = run_loop(Path("demo_output"), base_image=None)  # doctest: +SKIP
    >>> result["current"]["version"]  # doctest: +SKIP
    '1.0.0'

"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
REQUESTER = "ds-alice"
APPROVER = "eng-bob"
ALIAS = "champion"


def make_signing_key(folder: Path) -> tuple[Path, Path]:
    """A fresh P-256 key pair as PEM files in ``folder``: ``(private, public)``.

    Example:
        >>> private, public = make_signing_key(Path("keys"))  # doctest: +SKIP

    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = folder / "signing.pem", folder / "signing.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    private.chmod(0o600)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def write_specs(folder: Path, public_key: Path) -> tuple[Path, Path]:
    """The demo's model spec (serve ``champion``, signed by ``public_key``) and deploy spec.

    Example:
        >>> specs = write_specs(Path("specs"), Path("keys/signing.pub"))  # doctest: +SKIP

    """
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "flows" / "model_api", folder / "model_api", dirs_exist_ok=True)
    spec = yaml.safe_load((ROOT / "flows" / "model_spec.yaml").read_text())
    spec["model"].pop("version", None)
    spec["model"]["alias"] = ALIAS
    spec["require_signature"] = {"public_keys": [str(public_key)]}
    model_spec = folder / "model_spec.yaml"
    model_spec.write_text(yaml.safe_dump(spec, sort_keys=False))
    deploy_spec = folder / "deploy_spec.yaml"
    shutil.copyfile(ROOT / "flows" / "deploy_spec.yaml", deploy_spec)
    return model_spec, deploy_spec


def approve_champion(uid: str, reason: str) -> dict[str, Any]:
    """``ds-alice`` asks for ``champion`` to point at card ``uid``; ``eng-bob`` approves.

    Returns:
        The request's id, the refusal a direct move gets, and who approved.

    """
    from opsml import CardRegistry, configure
    from opsml.errors import OpsmlError

    try:
        configure(actor=REQUESTER)
        models = CardRegistry("model")
        card = models.load_card(uid=uid)
        try:
            models.set_alias(card, ALIAS)
            refused = "moved without approval (the alias is not protected)"
        except OpsmlError as exc:
            refused = str(exc)
        asked = models.request_alias(card, ALIAS, reason=reason)
        configure(actor=APPROVER)
        done = CardRegistry("model").approve(asked.id, comment="checked the metrics")
    finally:
        configure()
    return {
        "request": asked.id,
        "direct move": refused,
        "requested by": asked.requested_by,
        "approved by": done.decided_by,
        "champion": f"v{card.version}",
    }


def ship(
    model_spec: Path, deploy_spec: Path, build_dir: Path, base_image: str | None
) -> dict[str, Any]:
    """Package the champion (image, ``packaged`` record), then deploy it (``deployed``)."""
    from flows.deploy_model import deploy
    from flows.package_model import packaging

    started = time.perf_counter()
    packaged = packaging(
        spec_path=str(model_spec),
        output_dir=str(build_dir),
        base_image=base_image,
        deploy_spec_path=str(deploy_spec),
    )
    packaged_at = time.perf_counter()
    deployed = deploy(
        spec_path=str(model_spec), deploy_spec_path=str(deploy_spec), output_dir=str(build_dir)
    )
    return {
        "version": packaged["version"],
        "image": packaged["image"],
        "image built": packaged["built"],
        "image digest": packaged.get("digest"),
        "image reused": packaged.get("reused", False),
        "image check": packaged.get("check"),
        "build context": packaged["context"],
        "build command": packaged["command"],
        "deployed": {k: deployed[k] for k in ("target", "environment", "applied", "record")},
        "seconds": {
            "package": round(packaged_at - started, 2),
            "deploy": round(time.perf_counter() - packaged_at, 2),
        },
    }


def history(target: str) -> list[dict[str, Any]]:
    """The target's deployment records, oldest first, as short dicts."""
    from opsml import CardRegistry

    page = CardRegistry("model").list_deployments(target=target, limit=100)
    return [
        {
            "id": item.id,
            "version": item.version,
            "state": item.state,
            "image": item.image,
            "digest": (item.image_digest or "")[:19] or None,
            "actor": item.actor,
        }
        for item in reversed(page.items)
    ]


def run_loop(out: Path, base_image: str | None, train: Any) -> dict[str, Any]:
    """Train two signed versions, ship each through approval, then roll back to the first.

    Args:
        out: the demo's output folder (``keys/``, ``specs/``, ``build/`` are made in it).
        base_image: the serving image's base (``None``: the spec's).
        train: the training flow, called with ``c=`` (a regularisation strength).

    """
    from opsml import CardRegistry, configure

    private, public = make_signing_key(out / "keys")
    model_spec, deploy_spec = write_specs(out / "specs", public)
    target = str(yaml.safe_load(deploy_spec.read_text())["target"])
    os.environ["OPSML_SIGNING_KEY"] = str(private)  # what a worker's environment would set
    configure()  # settings are read once per process: read them again
    try:
        first = train(c=1.0)
        second = train(c=0.5)
    finally:
        os.environ.pop("OPSML_SIGNING_KEY", None)
        configure()
    steps: dict[str, Any] = {}
    for label, trained, reason in (
        ("ship v1", first, "first model"),
        ("ship v2", second, f"accuracy {second['metrics'].get('accuracy')}"),
        ("roll back to v1", first, "v2 misbehaves in production: back to v1"),
    ):
        approval = approve_champion(trained["model"]["uid"], reason)
        shipped = ship(model_spec, deploy_spec, out / "build", base_image)
        steps[label] = {"approval": approval, **shipped}
    model = CardRegistry("model").load_card(uid=first["model"]["uid"])
    signature = model.verify_signature(trusted=[public])
    current = CardRegistry("model").current_deployment(target=target)
    return {
        "trained": {"v1": first["model"], "v2": second["model"]},
        "signature of v1": {"signed_by": signature.signed_by, "verified": signature.verified},
        "public key": f"{public} (sha256:{hashlib.sha256(public.read_bytes()).hexdigest()[:16]}…)",
        "steps": steps,
        "history": history(target),
        "current": {"version": current.version, "image": current.image} if current else None,
        "training": {"v1": first, "v2": second},
    }
