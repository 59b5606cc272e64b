"""The common card: identity, ownership, tags, and lazy access to stored artifacts.

Cards are pydantic models. What a card holds in memory (a model, a DataFrame)
is written to files when it is registered; what it records about them (schema,
signature, library versions) is plain JSON metadata, never pickled.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from opsml.errors import InvalidInputError
from opsml.schemas import CardPublic, Name, RegistryType, Tags
from opsml.versioning import parse_version

if TYPE_CHECKING:
    from collections.abc import Sequence

    from opsml._model_signing import KeySource
    from opsml.backends.base import ProgressCallback, RegistryBackend
    from opsml.signatures import SignatureInfo


class Card(BaseModel):
    """Fields and behaviour every card shares.

    Example:
        >>> from opsml import RunCard
        >>> card = RunCard(name="nightly", repository="ds-team", contact="ds@example.com")
        >>> card.version is None  # filled in by registration
        True

    """

    model_config = ConfigDict(
        arbitrary_types_allowed=True, validate_assignment=True, extra="forbid"
    )

    registry_type: ClassVar[RegistryType]
    _metadata_fields: ClassVar[tuple[str, ...]] = ()

    name: Name = Field(description="Card name; versions are counted per name and repository.")
    repository: Name = Field(description="Team or project the card belongs to.")
    contact: str = Field(min_length=1, max_length=256, description="Who to ask about it.")
    version: str | None = Field(
        default=None, description="Set by registration; set it beforehand for a free version."
    )
    uid: str | None = Field(default=None, description="Set by registration.")
    tags: Tags = Field(default_factory=dict, description="Free str-to-str labels.")
    description: str | None = Field(default=None, description="Free text (markdown).")
    created_at: datetime | None = Field(default=None, description="UTC, set at registration.")
    created_by: str | None = Field(default=None, description="Who registered it.")
    lineage: dict[str, str] = Field(
        default_factory=dict,
        description="Where it was made: Prefect flow run id, flow, deployment, run URL.",
    )

    @field_validator("version")
    @classmethod
    def _check_version(cls, version: str | None) -> str | None:
        """An explicit version must be one the registry can store (see ``opsml.versioning``)."""
        if version is not None:
            parse_version(version)  # VersionError is a ValueError: pydantic reports it
        return version

    _backend: RegistryBackend | None = PrivateAttr(default=None)
    _public: CardPublic | None = PrivateAttr(default=None)
    _local_dir: tempfile.TemporaryDirectory[str] | None = PrivateAttr(default=None)

    # -- what subclasses provide -------------------------------------------------------

    def _write_artifacts(self, dest: Path) -> dict[str, Any]:
        """Write this card's files under ``dest``; return metadata about them."""
        return {}

    def _card_metadata(self) -> dict[str, Any]:
        """JSON metadata of this card kind (without artifacts)."""
        data = self.model_dump(mode="json", include=set(self._metadata_fields))
        if self.lineage:
            data["lineage"] = self.lineage
        return data

    @classmethod
    def _from_public(cls, public: CardPublic, backend: RegistryBackend) -> Self:
        meta = dict(public.metadata)
        fields = {k: meta[k] for k in cls._metadata_fields if k in meta}
        card = cls.model_validate(
            {
                "name": public.name,
                "repository": public.repository,
                "contact": public.contact,
                "version": public.version,
                "uid": public.uid,
                "tags": public.tags,
                "description": public.description,
                "created_at": public.created_at,
                "created_by": public.created_by,
                "lineage": meta.get("lineage", {}),
                **fields,
            }
        )
        card._attach(public, backend)
        return card

    def _attach(self, public: CardPublic, backend: RegistryBackend) -> None:
        self._public = public
        self._backend = backend

    # -- public behaviour ------------------------------------------------------------

    @property
    def metadata(self) -> dict[str, Any]:
        """Everything recorded about the card and its artifacts (read-only copy)."""
        return dict(self._public.metadata) if self._public else self._card_metadata()

    @property
    def files(self) -> list[str]:
        """Relative paths of the stored artifacts (empty before registration)."""
        return [f.path for f in self._public.files] if self._public else []

    @property
    def registry_location(self) -> str | None:
        """Where the card is registered, without credentials (None: not registered yet).

        The location of the registry it was registered in or loaded from (see
        :meth:`~opsml.backends.base.RegistryBackend.location`): the server's URL, or the
        database URL with its password masked.

        Example:
            >>> from opsml import RunCard
            >>> RunCard(name="n", repository="r", contact="c").registry_location is None
            True

        """
        return self._backend.location() if self._backend is not None else None

    @property
    def signature_info(self) -> SignatureInfo | None:
        """Who signed the card and what the signature claims, unchecked (None: unsigned).

        Reading it needs no key and no ``model-signing``; :meth:`verify_signature`
        checks it. Raises :class:`~opsml.errors.SignatureVerificationError` for a
        corrupted bundle.

        Example:
            >>> from opsml import RunCard
            >>> RunCard(name="n", repository="r", contact="c").signature_info is None
            True

        """
        from opsml.signatures import describe, parse_bundle, signature_of

        bundle = signature_of(self._public.metadata) if self._public else None
        if bundle is None:
            return None
        what = describe(self.registry_type, self.repository, self.name, self.version)
        return parse_bundle(bundle, what)

    def verify_signature(self, trusted: Sequence[KeySource]) -> SignatureInfo:
        """Check that one of the ``trusted`` public keys signed exactly this card.

        The signature must be made by a trusted key, name this card's registry,
        repository, name, version and uid, and list exactly its files with the
        SHA-256 the registry holds (downloads then check each byte against those).

        Args:
            trusted: public keys (PEM files' paths, or the PEM); ``sigstore:IDENTITY|ISSUER``
                trusts a Sigstore keyless identity.

        Returns:
            The signature, ``verified=True``.

        Raises:
            SignatureVerificationError: unsigned, signed by another key, corrupted,
                made for another card or version, or a file differs, was added or is missing.

        Example:
            >>> card = CardRegistry("model").load_card(name="churn")  # doctest: +SKIP
            >>> card.verify_signature(trusted=["keys/ci.pub"]).signed_by  # doctest: +SKIP
            'sha256:3f2a…'

        """
        from opsml._model_signing import verify_card

        public, _ = self._registered()
        return verify_card(public, trusted)

    def download_artifacts(
        self, path: str | Path, *, progress: ProgressCallback | None = None
    ) -> Path:
        """Download every stored file of this card into ``path``, verifying digests.

        Args:
            path: folder to write to (created when missing).
            progress: optional callback with byte counts.

        Returns:
            The folder.

        Raises:
            ArtifactIntegrityError: a stored file does not match its recorded digest.

        Example:
            >>> card = registry.load_card(name="churn", repository="ds")  # doctest: +SKIP
            >>> card.download_artifacts("out/churn")  # doctest: +SKIP

        """
        public, backend = self._registered()
        dest = Path(path)
        dest.mkdir(parents=True, exist_ok=True)
        backend.download_artifacts(public, dest, progress=progress)
        return dest

    def _local_artifacts(self, prefix: str) -> Path:
        """Download the files under ``prefix`` once into a private folder; return it."""
        public, backend = self._registered()
        if self._local_dir is None:
            self._local_dir = tempfile.TemporaryDirectory(prefix="opsml-")
        root = Path(self._local_dir.name)
        wanted = [f.path for f in public.files if f.path.startswith(prefix)]
        missing = [p for p in wanted if not (root / p).exists()]
        if missing:
            backend.download_artifacts(public, root, paths=missing)
        return root

    def _registered(self) -> tuple[CardPublic, RegistryBackend]:
        if self._public is None or self._backend is None:
            raise InvalidInputError(
                f"{type(self).__name__} {self.repository}/{self.name} is not registered yet: "
                "register it or load it from a CardRegistry first"
            )
        return self._public, self._backend

    def __repr_args__(self) -> Any:
        for key, value in super().__repr_args__():
            if key in ("model", "data", "sample_input", "splits"):
                yield key, type(value).__name__ if value is not None else None
            else:
                yield key, value
