"""Where things live in a store, relative to its root.

``{registry}/{repository}/{name}/v{version}/{path}`` for a card's files, and
``.uploads/{upload id}/{path}`` for presigned uploads before their commit.
"""

from __future__ import annotations

from opsml.errors import StorageError
from opsml.schemas import check_name


def card_prefix(registry: str, repository: str, name: str, version: str) -> str:
    """The folder of one card version, relative to the storage root.

    Example:
        >>> card_prefix("model", "ds", "churn", "1.2.0")
        'model/ds/churn/v1.2.0'

    """
    check_name(repository)
    check_name(name)
    if registry not in ("data", "model", "run", "pipeline"):
        raise StorageError(f"unknown registry {registry!r}")
    return f"{registry}/{repository}/{name}/v{version}"


STAGING = ".uploads"
"""Folder of the store where presigned uploads land before their commit."""


def staging_prefix(upload_id: str) -> str:
    """The folder of one presigned upload's objects, relative to the storage root.

    Example:
        >>> staging_prefix("0" * 32)
        '.uploads/00000000000000000000000000000000'

    """
    if len(upload_id) != 32 or any(c not in "0123456789abcdef" for c in upload_id):
        raise StorageError(f"{upload_id!r} is not an upload id")
    return f"{STAGING}/{upload_id}"


def describe_key(key: str) -> str:
    """A key as shown to clients: the card and the file's relative path, never the store's root.

    Example:
        >>> describe_key("model/ds/churn/v1.2.0/model/model.skops")
        "artifact 'model/model.skops' of model card ds/churn v1.2.0"
        >>> describe_key(".uploads/" + "0" * 32 + "/a.bin")
        "artifact 'a.bin' of upload 00000000000000000000000000000000"

    """
    parts = key.split("/")
    if len(parts) > 4 and parts[0] in ("data", "model", "run", "pipeline"):
        registry, repository, name, version = parts[:4]
        card = f"{registry} card {repository}/{name} {version}"
        return f"artifact {'/'.join(parts[4:])!r} of {card}"
    if len(parts) > 2 and parts[0] == STAGING:
        return f"artifact {'/'.join(parts[2:])!r} of upload {parts[1]}"
    return f"artifact {key!r}"
