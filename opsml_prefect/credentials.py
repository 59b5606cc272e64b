"""The ``OpsmlCredentials`` block: where the registry is and how to authenticate to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prefect.blocks.core import Block
from pydantic import Field, HttpUrl, SecretStr

from opsml.config import CONNECTION_FIELDS, RegistryConnection

if TYPE_CHECKING:
    from opsml import CardRegistry
    from opsml.config import OpsmlSettings
    from opsml.schemas import RegistryType

__all__ = ["OpsmlCredentials"]


class OpsmlCredentials(Block, RegistryConnection):
    """Connection details for an OpsML registry: tracking URI, basic auth and production token.

    Engineering owns the registry server and its database and storage
    credentials; a client only needs the tracking URI and, where auth is on, a
    user name and password. In production, writes also need the production
    token. The fields are :class:`opsml.config.RegistryConnection`'s, the same
    as the client's and the server's settings. A field left empty falls back to
    the matching ``OPSML_*`` environment variable (``OPSML_TRACKING_URI``,
    ``OPSML_USERNAME``, ``OPSML_PASSWORD``, ``OPSML_PROD_TOKEN``), so an empty
    block means "let the environment decide".

    Example:
        Load stored OpsML credentials and open the model registry:
        ```python
        from opsml_prefect import OpsmlCredentials

        opsml_credentials = OpsmlCredentials.load("BLOCK_NAME")
        registry = opsml_credentials.get_registry("model")
        ```

    """

    _block_type_name = "OpsML Credentials"
    _logo_url = HttpUrl("https://raw.githubusercontent.com/demml/opsml/main/images/opsml-chip.png")
    _documentation_url = HttpUrl("https://github.com/example/opsml-prefect#opsml-credentials")

    signing_key: SecretStr | None = Field(
        default=None,
        description=(
            "Elliptic-curve private key (PEM text, or a PEM file's path) that signs every card "
            "registered with this block; empty means OPSML_SIGNING_KEY, else unsigned."
        ),
    )

    def get_settings(self) -> OpsmlSettings:
        """Build the client settings this block describes.

        Only the fields that are set are passed on; the others come from the
        environment, exactly as for a client built without the block.

        Returns:
            An :class:`opsml.config.OpsmlSettings` carrying this block's values.

        Example:
            >>> OpsmlCredentials(tracking_uri="http://registry:8080").get_settings().tracking_uri
            'http://registry:8080'

        """
        from opsml.config import OpsmlSettings

        values = {name: getattr(self, name) for name in (*CONNECTION_FIELDS, "signing_key")}
        return OpsmlSettings(**{key: value for key, value in values.items() if value is not None})

    def get_registry(self, registry_type: RegistryType) -> CardRegistry:
        """Open a card registry with this block's settings.

        Args:
            registry_type: ``"data"``, ``"model"``, ``"run"`` or ``"pipeline"``.

        Returns:
            An :class:`opsml.CardRegistry` that talks to the registry this block names.

        Raises:
            opsml.OpsmlError: for an unknown ``registry_type``.

        Example:
            ```python
            registry = OpsmlCredentials.load("BLOCK_NAME").get_registry("model")
            registry.list_cards(name="churn")
            ```

        """
        from opsml import CardRegistry

        return CardRegistry(registry_type, settings=self.get_settings())
