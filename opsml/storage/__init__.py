"""Artifact storage through fsspec: a folder, ``s3://`` or ``gs://``, the same way.

Layout: ``{root}/{registry}/{repository}/{name}/v{version}/{relative path}``.
The store never takes a path from a client: callers give registry, repository,
name and version (validated) and a relative path (checked by
:func:`opsml.schemas.check_relative_path`).
"""

from opsml.storage.store import ArtifactStore, card_prefix, staging_prefix

__all__ = ["ArtifactStore", "card_prefix", "staging_prefix"]
