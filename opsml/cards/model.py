"""ModelCard: a trained model, its framework, library versions and signature."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from opsml.cards.base import Card
from opsml.errors import InvalidInputError

if TYPE_CHECKING:
    from opsml._model_signing import KeySource
    from opsml.backends.base import ProgressCallback


def _write_signature(metadata: dict[str, Any], dest: Path) -> None:
    """Write a signed card's bundle as ``dest/model.sig`` (``model-signing``'s own name)."""
    from opsml.signatures import SIGNATURE_FILE, signature_of

    bundle = signature_of(metadata)
    if bundle is not None:
        (dest / SIGNATURE_FILE).write_text(json.dumps(bundle))


class ModelCard(Card):
    """A model, saved by the interface of its framework (see
    :mod:`opsml.cards.model_interfaces`): scikit-learn with skops (loading runs
    no arbitrary code), XGBoost and LightGBM in their native formats, ONNX
    graphs (loaded as onnxruntime sessions); other objects only when you ask
    for ``serializer="pickle"``; files or folders (torch state dicts, anything)
    by path. ``to_onnx=True`` adds an ONNX export and records its parity.

    Example:
        >>> from sklearn.linear_model import LogisticRegression  # doctest: +SKIP
        >>> card = ModelCard(name="churn", repository="ds-team", contact="ds@example.com",
        ...                  model=LogisticRegression().fit(X, y), sample_input=X[:5])
        >>> CardRegistry("model").register_card(card)  # doctest: +SKIP
        >>> CardRegistry("model").load_card(name="churn").load_model()  # doctest: +SKIP

    """

    registry_type: ClassVar = "model"
    _metadata_fields: ClassVar[tuple[str, ...]] = ("datacard_uid", "runcard_uid", "serializer")

    model: Any = Field(default=None, exclude=True, description="The model object or a path.")
    sample_input: Any = Field(
        default=None, exclude=True, description="A few input rows; records the signature."
    )
    serializer: str = Field(
        default="auto",
        min_length=1,
        description=(
            "auto (the interface that recognises the model), skops, xgboost, lightgbm, "
            "onnx, pickle (explicit), files, or an interface a package registered."
        ),
    )
    to_onnx: bool | Literal["try"] = Field(
        default=False,
        exclude=True,
        description='Add an ONNX export and its parity; "try" records why an export failed.',
    )
    datacard_uid: str | None = Field(default=None, description="The data it was trained on.")
    runcard_uid: str | None = Field(default=None, description="The run that trained it.")

    def _write_artifacts(self, dest: Path) -> dict[str, Any]:
        from opsml.cards.model_interfaces import save_model

        if self.model is None:
            raise InvalidInputError(
                f"ModelCard {self.repository}/{self.name} has no model: pass model= "
                "(an estimator, a path, or any object with serializer='pickle')"
            )
        info = save_model(
            self.model,
            dest,
            serializer=self.serializer,
            sample_input=self.sample_input,
            to_onnx=self.to_onnx,
        )
        return {"model": info}

    @property
    def model_info(self) -> dict[str, Any]:
        """Serializer, framework, model class, library versions and signature."""
        info: dict[str, Any] = self.metadata.get("model", {})
        return info

    @property
    def signature(self) -> dict[str, Any] | None:
        """Input/output description recorded from ``sample_input``."""
        sig: dict[str, Any] | None = self.model_info.get("signature")
        return sig

    def load_model(
        self, *, trusted: Sequence[str] | None = None, allow_pickle: bool = False
    ) -> Any:
        """Download (verified) and load the model with the interface the card records.

        Args:
            trusted: extra types skops may load beyond scikit-learn and numpy.
            allow_pickle: load a model the card says is a pickle (unpickling
                runs code from the file); refused without it.

        Returns:
            The model (an onnxruntime session for ONNX), or the local ``Path``
            of a model stored as files.

        Example:
            >>> card = registry.load_card(name="churn", version="^1")  # doctest: +SKIP
            >>> model = card.load_model()  # doctest: +SKIP

        """
        if self.model is not None:
            return self.model
        from opsml.cards.model_interfaces import load_model

        root = self._local_artifacts("model/")
        return load_model(root, self.model_info, trusted=trusted, allow_pickle=allow_pickle)

    def load_onnx(self) -> Any:
        """Download (verified) the ``to_onnx`` export and open it as an onnxruntime session.

        Raises:
            InvalidInputError: the card has no ONNX export (the message says why).

        Example:
            >>> session = registry.load_card(name="churn").load_onnx()  # doctest: +SKIP
            >>> session.run(None, {"input": X[:5].astype("float32")})  # doctest: +SKIP

        """
        from opsml.cards.model_interfaces.onnx import onnx_session

        export = self.model_info.get("onnx") or {}
        if "file" not in export:
            reason = export.get("error") or "it was registered without to_onnx=True"
            raise InvalidInputError(
                f"ModelCard {self.repository}/{self.name} has no ONNX export: {reason}"
            )
        root = self._local_artifacts("model/")
        return onnx_session(root / "model" / export["file"])

    @property
    def stored_bytes(self) -> int:
        """Total size of the stored files in bytes (0 before registration).

        Example:
            >>> ModelCard(name="m", repository="r", contact="c").stored_bytes
            0

        """
        return sum(f.size for f in self._public.files) if self._public else 0

    def pull(
        self,
        dest: str | Path,
        *,
        replace: bool = False,
        progress: ProgressCallback | None = None,
        verify: Sequence[KeySource] | None = None,
    ) -> Path:
        """Download the model's files (digests verified) and its ``card.json`` into ``dest``.

        What ``opsml models pull`` and the ``pull_model`` deployment step write:
        every stored file at its relative path, plus ``card.json`` (the card's
        metadata: version, uid, signature, sample input). Files get ordinary
        permissions (``0o666`` minus the umask, like ``cp``). A signed card also
        gets ``model.sig`` (its ``model-signing`` bundle), so that
        ``model_signing verify key DEST --signature DEST/model.sig --public_key KEY``
        checks the folder without opsml.

        Args:
            dest: folder to write to; created when missing.
            replace: when ``dest`` is a non-empty folder, replace it (the new
                files are downloaded beside it first, so a failed pull leaves it as
                it was). Without it a non-empty folder is refused.
            progress: optional callback with byte counts.
            verify: trusted public keys: refuse (before anything is written) a card
                that is unsigned or not signed by one of them over exactly these
                files (see :meth:`verify_signature`).

        Returns:
            The folder (absolute).

        Raises:
            InvalidInputError: ``dest`` is a file, or a non-empty folder without ``replace``.
            ArtifactIntegrityError: a downloaded file does not match its digest.
            SignatureVerificationError: ``verify`` is given and the signature does not hold.

        Example:
            >>> card = CardRegistry("model").load_card(name="churn", version="^1")  # doctest: +SKIP
            >>> card.pull("build/model")  # doctest: +SKIP
            PosixPath('/home/me/project/build/model')

        """
        public, _ = self._registered()
        if verify is not None:
            self.verify_signature(verify)
        dest = Path(dest).absolute()
        if dest.exists() and not dest.is_dir():
            raise InvalidInputError(f"cannot pull into {dest}: it is a file, not a folder")
        if not dest.is_dir() or not any(dest.iterdir()):
            self.download_artifacts(dest, progress=progress)
            _write_signature(public.metadata, dest)
            (dest / "card.json").write_text(public.model_dump_json(indent=2))
            return dest
        if not replace:
            raise InvalidInputError(
                f"cannot pull into {dest}: the folder is not empty (replace it with --force)"
            )
        fresh = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        try:
            self.pull(fresh, progress=progress)
            fresh.chmod(dest.stat().st_mode & 0o7777)
            shutil.rmtree(dest)
            fresh.rename(dest)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
        return dest
