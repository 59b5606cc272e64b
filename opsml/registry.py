"""CardRegistry: register, find, load, update and delete cards of one kind."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsml._cleanup import remove_later
from opsml._registration import check_new_card, create_request
from opsml._registry_deployments import DeploymentsMixin
from opsml.errors import InvalidInputError
from opsml.schemas import (
    REGISTRY_TYPES,
    CardPage,
    CardQuery,
    CardUpdate,
    RegistryType,
    build,
)

if TYPE_CHECKING:
    from opsml._model_signing import KeySource
    from opsml.backends.base import ProgressCallback, RegistryBackend
    from opsml.cards.base import Card
    from opsml.config import OpsmlSettings
    from opsml.schemas import AliasPublic


class CardRegistry(DeploymentsMixin):
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
        sign_with: KeySource | None = None,
    ) -> Card:
        """Store the card's artifacts and metadata and give it a version.

        Args:
            card: a card of this registry's kind.
            version_type: ``major``, ``minor``, ``patch``, ``pre`` or ``build``; ignored
                when the card carries an explicit ``version``. A new name starts at 1.0.0.
            progress: optional callback with byte counts while files upload.
            sign_with: sign the card (every file's path and SHA-256, its registry,
                repository, name, version and uid) with this elliptic-curve private
                key: a PEM file's path or the PEM; ``"sigstore"`` signs keyless.
                Default: ``OPSML_SIGNING_KEY``, else unsigned. Needs ``opsml-prefect[signing]``.

        Returns:
            The same card, with ``version``, ``uid``, ``created_at`` filled in.

        Raises:
            InvalidInputError: wrong card kind, missing data/model, bad version type.
            VersionConflictError: the explicit version is taken.
            SignatureRequiredError: the registry requires signatures and the card is unsigned.

        Example:
            >>> CardRegistry("model").register_card(card, version_type="patch")  # doctest: +SKIP
            >>> CardRegistry("model").register_card(card, sign_with="keys/ci.pem")  # doctest: +SKIP

        """
        from opsml import hooks
        from opsml._signed_registration import check_signing_key, register_signed, signing_key_of

        check_new_card(self.registry_type, card, version_type)
        key = signing_key_of(sign_with, self._settings)
        if key is not None:
            check_signing_key(key)
        hooks.before_register(card)
        staging = Path(tempfile.mkdtemp(prefix="opsml-stage-"))
        try:
            backend = self.backend
            request = create_request(backend, self.registry_type, card, version_type, staging)
            if key is not None:
                public = register_signed(backend, request, staging, key, progress=progress)
            else:
                public = backend.register_card(request, staging, progress=progress)
        finally:
            remove_later(staging)  # off the caller's clock
        card.version = public.version
        card.uid = public.uid
        card.created_at = public.created_at
        card.created_by = public.created_by
        card._attach(public, self.backend)
        hooks.after_register(card)
        return card

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

    def list_page(self, *, cursor: str | None = None, limit: int = 50, **filters: Any) -> CardPage:
        """Light rows (``CardSummary``) newest first; ``next_cursor`` is the next page's ``cursor``.

        ``filters`` are those of :meth:`list_cards` plus ``search`` (part of the
        name or repository, any case) and ``links_to`` (a card uid its lineage names).

        Example:
            >>> registry = CardRegistry("model")  # doctest: +SKIP
            >>> page = registry.list_page(search="churn")  # doctest: +SKIP
            >>> registry.list_page(search="churn", cursor=page.next_cursor)  # doctest: +SKIP

        """
        query = build(CardQuery, cursor=cursor, limit=limit, **filters)
        return self.backend.list_page(self.registry_type, query)

    def count_cards(self, **filters: Any) -> int:
        """How many cards match ``filters`` (those of :meth:`list_page`), exactly."""
        return self.backend.count_cards(self.registry_type, build(CardQuery, **filters))

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
            alias: an alias (``"champion"``) instead of a version spec; with a
                name, and its repository when several repositories hold the name.

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
        if alias is not None and version is None and name and not repository:
            repository = self._repository_of(name)
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

    def _repository_of(self, name: str) -> str:
        """The one repository holding ``name`` (else the backend's error naming them)."""
        return self.backend.get_card(self.registry_type, name=name).repository

    def delete_alias(self, *, name: str, repository: str | None = None, alias: str) -> None:
        """Remove ``alias`` of ``repository/name``; the version it pointed to stays.

        Without ``repository``, the one repository holding ``name`` (several: an error
        naming them), as for every alias operation.

        Example:
            >>> registry.delete_alias(name="churn", repository="ds", alias="old")  # doctest: +SKIP

        """
        repository = repository or self._repository_of(name)
        self.backend.delete_alias(self.registry_type, name, repository, alias)

    def list_aliases(self, *, name: str, repository: str | None = None) -> dict[str, str]:
        """Each alias of ``repository/name`` and the version it points to.

        Example:
            >>> registry.list_aliases(name="churn", repository="ds")  # doctest: +SKIP
            {'champion': '1.2.0'}

        """
        repository = repository or self._repository_of(name)
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

    def copy_card(
        self,
        card: Card,
        *,
        to: CardRegistry,
        with_lineage: bool = False,
        progress: ProgressCallback | None = None,
    ) -> Card:
        """Copy this registry's ``card`` into the registry ``to``, same version, uid and digests.

        Files stream from this registry into ``to`` (no local copy), verified on
        both sides. Idempotent for the same files; the same version with other
        files is a :class:`~opsml.errors.VersionConflictError`; nothing of the
        card is written on failure. ``with_lineage=True`` copies the data and
        run cards it links to first (same uids and versions), so that its links
        resolve in ``to``. See :mod:`opsml.promotion`.

        Example:
            >>> prod = CardRegistry("model", tracking_uri="http://prod:8080", prod_token="t")
            >>> staging.copy_card(card, to=prod, with_lineage=True).version  # doctest: +SKIP
            '1.2.0'

        """
        from opsml.config import describe_location, get_settings
        from opsml.promotion import copy_cards

        if to.registry_type != self.registry_type:
            raise InvalidInputError(
                f"cannot copy a {self.registry_type} card into the {to.registry_type} registry"
            )
        public, backend = self._owned(card)
        where = describe_location((self._settings or get_settings()).resolved_tracking_uri())
        copied = copy_cards(
            backend, public, to.backend, source_location=where,
            with_lineage=with_lineage, progress=progress,
        )  # fmt: skip
        return to._card_type()._from_public(copied[-1].card, to.backend)

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
