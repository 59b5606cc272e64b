"""Artifact storage through fsspec: a folder, ``s3://`` or ``gs://``, the same way.

Layout: ``{root}/{registry}/{repository}/{name}/v{version}/{relative path}``.
The store never takes a path from a client: callers give registry, repository,
name and version (validated) and a relative path (checked by
:func:`opsml.schemas.check_relative_path`).
"""

from opsml.storage import _local, _remote  # the kinds of store register themselves
from opsml.storage.layout import card_prefix, staging_prefix
from opsml.storage.store import ArtifactStore

__all__ = ["ArtifactStore", "card_prefix", "staging_prefix"]
del _local, _remote
