"""CardRegistry: register, find, load, update and delete cards of one kind."""

from __future__ import annotations

import getpass
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsml.errors import InvalidInputError
from opsml.schemas import (
    REGISTRY_TYPES,
    VERSION_TYPES,
    ArtifactFile,
    CardCreate,
    CardQuery,
    CardUpdate,
    RegistryType,
    build,
)

if TYPE_CHECKING:
    from opsml.backends.base import ProgressCallback, RegistryBackend
    from opsml.cards.base import Card
    from opsml.config import OpsmlSettings
    from opsml.schemas import AliasPublic


def _stage_manifest(root: Path, backend: RegistryBackend | None = None) -> list[ArtifactFile]:
    """Every file under ``root`` with its size and SHA-256; when ``backend`` hashes while it
    sends (``digests_on_send``), the digests are left empty so that each byte is read once.
    """
    from opsml.storage.digest import sha256_file

    paths = sorted(p for p in root.rglob("*") if p.is_file())
    later = getattr(backend, "digests_on_send", None)
    if later is not None and later(sum(p.stat().st_size for p in paths)):
        return [
            ArtifactFile.model_construct(
                path=p.relative_to(root).as_posix(), size=p.stat().st_size, sha256=""
            )
            for p in paths
        ]
    files = []
    for path in paths:
        sha, size = sha256_file(path)
        files.append(ArtifactFile(path=path.relative_to(root).as_posix(), size=size, sha256=sha))
    return files


class CardRegistry:
    """The registry of one card kind: ``"data"``, ``"model"``, ``"run"`` or ``"pipeline"``.

    The backend comes from the settings: a registry server when
    ``OPSML_TRACKING_URI`` is ``http(s)://…``, a database URL directly, or
    embedded SQLite in ``./opsml_registry`` when it is unset. ``tracking_uri=``
    (with ``storage_uri``, ``username``, ``password``, ``token``, ``prod_token``)
    addresses another registry instead, e.g. the target of :meth:`copy_card`.

    Example:
        >>> registry = CardRegistry("run")  # doctest: +SKIP
        >>> card = RunCard(name="nightly", repository="ds-team", contact="ds@example.com")
        >>> registry.register_card(card, version_type="patch")  # doctest: +SKIP
        >>> registry.load_card(name="nightly", repository="ds-team").version  # doctest: +SKIP
        '1.0.0'

    """

    def __init__(
        self,
        registry_type: RegistryType,
        *,
        settings: OpsmlSettings | None = None,
        backend: RegistryBackend | None = None,
        tracking_uri: str | None = None,
        storage_uri: str | None = None,
        username: str | None = None,
        password: str | None = None,
        prod_token: str | None = None,
        token: str | None = None,
    ) -> None:
        if tracking_uri is not None:  # another registry than the configured one
            from opsml.config import OpsmlSettings

            settings = OpsmlSettings.model_validate(
                {"tracking_uri": tracking_uri, "storage_uri": storage_uri or "",
                 "username": username, "password": password, "prod_token": prod_token,
                 "token": token}
            )  # fmt: skip
        if registry_type not in REGISTRY_TYPES:
            raise InvalidInputError(
                f"unknown registry type {registry_type!r}: use one of {', '.join(REGISTRY_TYPES)}"
            )
        self.registry_type: RegistryType = registry_type
        self._settings = settings
        self._backend = backend

    def __repr__(self) -> str:
        return f"CardRegistry({self.registry_type!r})"

    @property
    def backend(self) -> RegistryBackend:
        """The backend, built on first use."""
        if self._backend is None:
            from opsml.backends import get_backend

            self._backend = get_backend(self._settings)
        return self._backend

    def _card_type(self) -> type[Card]:
        from opsml.cards import CARD_TYPES

        return CARD_TYPES[self.registry_type]

    def register_card(
        self,
        card: Card,
        version_type: str = "minor",
        *,
        progress: ProgressCallback | None = None,
    ) -> Card:
        """Store the card's artifacts and metadata and give it a version.

        Args:
            card: a card of this registry's kind.
            version_type: ``major``, ``minor``, ``patch``, ``pre`` or ``build``; ignored
                when the card carries an explicit ``version``. A new name starts at 1.0.0.
            progress: optional callback with byte counts while files upload.

        Returns:
            The same card, with ``version``, ``uid``, ``created_at`` filled in.

        Raises:
            InvalidInputError: wrong card kind, missing data/model, bad version type.
            VersionConflictError: the explicit version is taken.

        Example:
            >>> CardRegistry("model").register_card(card, version_type="patch")  # doctest: +SKIP

        """
        from opsml import hooks

        self._check_new_card(card, version_type)
        hooks.before_register(card)
        staging = Path(tempfile.mkdtemp(prefix="opsml-stage-"))
        try:
            request = self._create_request(card, version_type, staging)
            public = self.backend.register_card(request, staging, progress=progress)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        card.version = public.version
        card.uid = public.uid
        card.created_at = public.created_at
        card.created_by = public.created_by
        card._attach(public, self.backend)
        hooks.after_register(card)
        return card

    def _check_new_card(self, card: Card, version_type: str) -> None:
        """Refuse a card of another kind, an unknown bump, or a card already registered."""
        from opsml.cards.base import Card

        card_type = self._card_type()
        if not isinstance(card, Card):
            raise InvalidInputError(
                f"register_card needs a {card_type.__name__}, got {type(card).__name__}"
            )
        if not isinstance(card, card_type):
            raise InvalidInputError(
                f"a {type(card).__name__} cannot go into the {self.registry_type} registry: "
                f"use CardRegistry({card.registry_type!r})"
            )
        if version_type not in VERSION_TYPES:
            raise InvalidInputError(
                f"unknown version_type {version_type!r}: use one of {', '.join(VERSION_TYPES)}"
            )
        if card.uid is not None and card._public is not None:
            raise InvalidInputError(
                f"{type(card).__name__} {card.repository}/{card.name} v{card.version} is "
                "already registered: use update_card, or make a new card"
            )

    def _create_request(self, card: Card, version_type: str, staging: Path) -> CardCreate:
        """Write the card's artifacts into ``staging`` and describe the registration."""
        meta = {**card._card_metadata(), **card._write_artifacts(staging)}
        # a data card records its data's digest in its metadata: hashed up front
        files = _stage_manifest(staging, None if card.registry_type == "data" else self.backend)
        if card.registry_type == "data" and "data" in meta:
            main = [f for f in files if f.path.startswith("data/") and "/splits/" not in f.path]
            if len(main) == 1:
                meta["data"]["digest"] = main[0].sha256
        return build(
            CardCreate,
            registry=self.registry_type,
            name=card.name,
            repository=card.repository,
            contact=card.contact,
            tags=card.tags,
            description=card.description,
            metadata=meta,
            version=card.version,
            version_type=version_type,
            created_by=card.created_by or _whoami(),
            files=files,
        )

    def list_cards(
        self,
        name: str | None = None,
        repository: str | None = None,
        version: str | None = None,
        tags: dict[str, str] | None = None,
        limit: int = 50,
    ) -> list[Card]:
        """Cards matching every given filter, newest first.

        Example:
            >>> CardRegistry("model").list_cards(repository="ds-team", limit=10)  # doctest: +SKIP

        """
        query = build(
            CardQuery, name=name, repository=repository, version=version, tags=tags, limit=limit
        )
        card_type = self._card_type()
        backend = self.backend
        return [
            card_type._from_public(p, backend)
            for p in backend.list_cards(self.registry_type, query)
        ]

    def load_card(
        self,
        name: str | None = None,
        repository: str | None = None,
        version: str | None = None,
        *,
        uid: str | None = None,
        alias: str | None = None,
    ) -> Card:
        """One card by ``uid``, or by name (and repository) and a version spec or an alias.

        Args:
            name: card name.
            repository: repository; needed when the name exists in several.
            version: exact (``"1.0.1"``), partial (``"1.0"``, ``"1.*"``), range
                (``"^1.2"``, ``"~1.2.3"``, ``">=1.0,<2"``), or ``None``/``"latest"``
                for the highest release.
            uid: the card's uid instead of name and version.
            alias: an alias (``"champion"``) instead of a version spec; needs
                name and repository.

        Raises:
            CardNotFoundError: nothing matches.
            VersionError: the version spec is malformed.

        Example:
            >>> CardRegistry("model").load_card(name="churn", version="^1.2")  # doctest: +SKIP

        """
        for label, value in (
            ("name", name),
            ("repository", repository),
            ("version", version),
            ("uid", uid),
            ("alias", alias),
        ):
            if value is not None and not isinstance(value, str):
                raise InvalidInputError(f"{label} must be a string, got {type(value).__name__}")
        public = self.backend.get_card(
            self.registry_type,
            uid=uid,
            name=name,
            repository=repository,
            version=version,
            alias=alias,
        )
        return self._card_type()._from_public(public, self.backend)

    def set_alias(self, card: Card, alias: str) -> AliasPublic:
        """Point ``alias`` of the card's name at this registered card (create or move it).

        A write: it needs the production token on a production registry, is
        audited, and emits ``opsml.card.alias_set``. Concurrent moves leave the
        alias at the last committed one.

        Raises:
            InvalidInputError: the alias breaks the rules (lowercase letters,
                digits, ``-``, starting with a letter, at most 63).

        Example:
            >>> registry.set_alias(card, "champion").version  # doctest: +SKIP
            '1.2.0'

        """
        public, backend = self._owned(card)
        return backend.set_alias(self.registry_type, public.uid, alias)

    def delete_alias(self, *, name: str, repository: str, alias: str) -> None:
        """Remove ``alias`` of ``repository/name``; the version it pointed to stays.

        Example:
            >>> registry.delete_alias(name="churn", repository="ds", alias="old")  # doctest: +SKIP

        """
        self.backend.delete_alias(self.registry_type, name, repository, alias)

    def list_aliases(self, *, name: str, repository: str) -> dict[str, str]:
        """Each alias of ``repository/name`` and the version it points to.

        Example:
            >>> registry.list_aliases(name="churn", repository="ds")  # doctest: +SKIP
            {'champion': '1.2.0'}

        """
        found = self.backend.list_aliases(self.registry_type, name, repository)
        return {a.alias: a.version for a in found}

    def update_card(self, card: Card) -> Card:
        """Save changed metadata (tags, description, metrics…); artifacts never change.

        Example:
            >>> card.tags["stage"] = "prod"; registry.update_card(card)  # doctest: +SKIP

        """
        public, backend = self._owned(card)
        meta = card._card_metadata()
        changed = {k: v for k, v in meta.items() if public.metadata.get(k) != v}
        update = CardUpdate(tags=card.tags, description=card.description, metadata=changed)
        new = backend.update_card(self.registry_type, public.uid, update)
        card._attach(new, backend)
        return card

    def delete_card(self, card: Card) -> None:
        """Remove a card and its artifacts; its version is never given again.

        Example:
            >>> registry.delete_card(registry.load_card(uid=uid))  # doctest: +SKIP

        """
        public, backend = self._owned(card)
        backend.delete_card(self.registry_type, public.uid)
        card._public = None

    def copy_card(self, card: Card, *, to: CardRegistry) -> Card:
        """Copy this registry's ``card`` into the registry ``to``, same version and digests.

        Idempotent for the same files; the same version with other files is a
        :class:`~opsml.errors.VersionConflictError`; nothing is written on failure.
        See :mod:`opsml.promotion`.

        Example:
            >>> prod = CardRegistry("model", tracking_uri="http://prod:8080", prod_token="t")
            >>> staging.copy_card(card, to=prod).version  # doctest: +SKIP
            '1.2.0'

        """
        from opsml.config import describe_location, get_settings
        from opsml.promotion import copy_public

        if to.registry_type != self.registry_type:
            raise InvalidInputError(
                f"cannot copy a {self.registry_type} card into the {to.registry_type} registry"
            )
        public, backend = self._owned(card)
        where = describe_location((self._settings or get_settings()).resolved_tracking_uri())
        copied = copy_public(backend, public, to.backend, source_location=where)
        return to._card_type()._from_public(copied, to.backend)

    def _owned(self, card: Card) -> tuple[Any, RegistryBackend]:
        from opsml.cards.base import Card

        if not isinstance(card, Card):
            raise InvalidInputError(f"expected a card, got {type(card).__name__}")
        if card.registry_type != self.registry_type:
            raise InvalidInputError(
                f"a {type(card).__name__} does not belong to the {self.registry_type} registry"
            )
        public, _ = card._registered()
        return public, self.backend


def _whoami() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no user database entry in some containers
        return None
