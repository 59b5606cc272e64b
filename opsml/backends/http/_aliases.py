"""Aliases over a registry server (``/api/v1/aliases``).

See :meth:`~opsml.backends.base.RegistryBackend.set_alias` for the contract; the
server checks roles, moves the alias in one transaction and audits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsml.schemas import (
    AliasPage,
    AliasPublic,
    AliasSet,
    RegistryType,
    check_alias_target,
    check_new_alias,
    check_uid,
)

if TYPE_CHECKING:
    from opsml.backends.http._transport import Transport


class HttpAliasesMixin:
    """``set_alias`` / ``delete_alias`` / ``list_aliases`` over HTTP."""

    transport: Transport

    def set_alias(
        self, registry: RegistryType, uid: str, alias: str, *, actor: str | None = None
    ) -> AliasPublic:
        """See :meth:`RegistryBackend.set_alias` (the server knows the actor)."""
        body = AliasSet(uid=check_uid(uid))
        url = self.transport.api("aliases", registry, check_new_alias(alias))
        return self.transport.parse(AliasPublic, self.transport.send_json("PUT", url, body))

    def delete_alias(
        self,
        registry: RegistryType,
        name: str,
        repository: str,
        alias: str,
        *,
        actor: str | None = None,
    ) -> None:
        """See :meth:`RegistryBackend.delete_alias`."""
        alias = check_alias_target(alias, name=name, repository=repository)
        url = self.transport.api("aliases", registry, alias)
        self.transport.send("DELETE", url, params={"name": name, "repository": repository})

    def list_aliases(self, registry: RegistryType, name: str, repository: str) -> list[AliasPublic]:
        """See :meth:`RegistryBackend.list_aliases`."""
        check_alias_target("a", name=name, repository=repository)
        params = {"name": name, "repository": repository}
        url = self.transport.api("aliases", registry)
        return self.transport.get_model(AliasPage, url, params=params).items
