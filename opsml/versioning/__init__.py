"""SemVer rules of the registry: parse, order, bump and resolve a version spec.

Every card version is a strict `SemVer 2.0.0 <https://semver.org>`_ string, parsed
and ordered with :mod:`semantic_version` (never string comparison). This package
is pure: no I/O, and it imports only :mod:`semantic_version` and the standard
library. Each module has one job:

* :mod:`opsml.versioning.semver`: parse a version, bound it to what the
  registry stores (:data:`MAX_VERSION_LENGTH`, :data:`MAX_VERSION_NUMBER`),
  order versions (:func:`version_key`, :func:`sorted_versions`).
* :mod:`opsml.versioning.bump`: the next version of a name (:func:`next_version`).
* :mod:`opsml.versioning.specs`: which version a spec means
  (:func:`validate_spec`, :func:`resolve_version`), with caret and tilde on
  ``0.x`` as npm and cargo have them.

Each module's docstring states its rules. Every malformed version or spec
raises :class:`opsml.errors.VersionError` with a message that names the
offending value and lists what is accepted.

Example:
    >>> resolve_version("1.0.1", ["1.0.1", "1.0.11"])
    '1.0.1'
    >>> resolve_version("latest", ["1.0.9", "1.0.11", "1.1.0-rc.1"])
    '1.0.11'
    >>> resolve_version("^0.2.3", ["0.2.3", "0.2.9", "0.3.0"])
    '0.2.9'
    >>> next_version(["1.0.11"], "pre")
    '1.1.0-rc.1'

"""

from __future__ import annotations

from opsml.versioning.bump import VERSION_TYPES, next_version
from opsml.versioning.semver import (
    MAX_VERSION_LENGTH,
    MAX_VERSION_NUMBER,
    VersionKey,
    is_exact,
    parse_version,
    sorted_versions,
    version_key,
)
from opsml.versioning.specs import resolve_version, validate_spec

__all__ = [
    "MAX_VERSION_LENGTH",
    "MAX_VERSION_NUMBER",
    "VERSION_TYPES",
    "VersionKey",
    "is_exact",
    "next_version",
    "parse_version",
    "resolve_version",
    "sorted_versions",
    "validate_spec",
    "version_key",
]
