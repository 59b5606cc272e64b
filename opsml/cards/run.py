"""RunCard: one training or evaluation run: metrics, parameters, artifacts, links."""

from __future__ import annotations

import math
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, PrivateAttr

from opsml.cards.base import Card
from opsml.errors import InvalidInputError
from opsml.schemas import check_relative_path


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


class RunCard(Card):
    """A run: log metrics and parameters, attach files, link its data and model cards.

    Example:
        >>> run = RunCard(name="train-churn", repository="ds-team", contact="ds@example.com")
        >>> run.log_params(C=1.0, solver="lbfgs")
        >>> run.log_metric("accuracy", 0.93)
        >>> run.metrics["accuracy"][-1]["value"]
        0.93

    """

    registry_type: ClassVar = "run"
    _metadata_fields: ClassVar[tuple[str, ...]] = (
        "metrics",
        "params",
        "datacard_uids",
        "modelcard_uids",
        "git_commit",
        "artifact_names",
    )

    metrics: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="Metric name to its logged values (value, step, time)."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Run parameters.")
    datacard_uids: list[str] = Field(default_factory=list, description="Data cards it used.")
    modelcard_uids: list[str] = Field(default_factory=list, description="Model cards it made.")
    git_commit: str | None = Field(
        default_factory=_git_commit, description="Commit of the code, when run in a repository."
    )
    artifact_names: list[str] = Field(default_factory=list, description="Files attached.")

    _artifact_paths: dict[str, Path] = PrivateAttr(default_factory=dict)

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Record one value of a metric (call again with ``step`` for a series)."""
        if not isinstance(name, str) or not name:
            raise InvalidInputError("metric name must be a non-empty string")
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(float(value))
        ):
            raise InvalidInputError(f"metric {name!r} needs a finite number, got {value!r}")
        if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
            raise InvalidInputError(f"step of metric {name!r} must be an int, got {step!r}")
        entry = {"value": float(value), "step": step, "timestamp": time.time()}
        self.metrics = {**self.metrics, name: [*self.metrics.get(name, []), entry]}

    def log_params(self, **params: Any) -> None:
        """Record run parameters (JSON-able values: str, numbers, bools, lists, dicts)."""
        import json

        try:
            json.dumps(params)
        except TypeError as exc:
            raise InvalidInputError(f"parameters must be JSON-able: {exc}") from None
        self.params = {**self.params, **params}

    def log_artifact(self, path: str | Path, name: str | None = None) -> None:
        """Attach a local file; it is stored when the card is registered."""
        source = Path(path)
        if not source.is_file():
            raise InvalidInputError(f"cannot log artifact {str(path)!r}: no such file")
        name = check_relative_path(name or source.name)
        self._artifact_paths[name] = source
        if name not in self.artifact_names:
            self.artifact_names = [*self.artifact_names, name]

    def _write_artifacts(self, dest: Path) -> dict[str, Any]:
        """Link each logged file into ``dest`` (a copy only where links are refused).

        No bytes are copied here: the registration hashes the file where it lies
        and the store (or the server) copies it once, checking that it still has
        the digest just taken, so a file changed mid-registration is refused.
        """
        for name, source in self._artifact_paths.items():
            target = dest / "artifacts" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                target.symlink_to(source.absolute())
            except OSError:  # no symlinks here (some Windows setups): copy
                shutil.copyfile(source, target)
        return {}

    def download_artifact(self, name: str, dest: str | Path) -> Path:
        """Download one attached file (verified) into folder ``dest``; return its path."""
        public, backend = self._registered()
        paths = backend.download_artifacts(public, Path(dest), paths=[f"artifacts/{name}"])
        return paths[0]
