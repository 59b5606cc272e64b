"""Every error the library raises on purpose.

All of them derive from :class:`OpsmlError`, carry a message a person can act
on, and have a stable ``code`` and an HTTP ``status_code`` so that the server
and the HTTP client map them one to one: the same failure raises the same class
in embedded mode and through a server.

Example:
    >>> from opsml import OpsmlError
    >>> try:
    ...     raise CardNotFoundError("no model card 'churn' in repository 'ds'")
    ... except OpsmlError as exc:
    ...     print(exc.code, exc.status_code)
    card_not_found 404

"""

from __future__ import annotations


class OpsmlError(Exception):
    """Base class of every deliberate error of opsml.

    Example:
        >>> isinstance(InvalidInputError("name must not be empty"), OpsmlError)
        True

    """

    code: str = "opsml_error"
    status_code: int = 500
    public_message: str | None = None
    """What a registry server tells its HTTP clients instead of ``message``, when set
    (``message`` may name the server's database host, port and name)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(OpsmlError, ValueError):
    """An argument has the wrong type, is missing or is out of range."""

    code = "invalid_input"
    status_code = 400


class UploadIncompleteError(InvalidInputError):
    """A file of an upload was not sent before the commit; the upload stays open.

    It travels as ``invalid_input`` (400): a client sees an :class:`InvalidInputError`.

    Example:
        >>> UploadIncompleteError("a.bin was not uploaded").code
        'invalid_input'

    """


class UnsafePathError(InvalidInputError):
    """An artifact path leaves the card's folder (``..``, absolute, backslash, NUL...)."""

    code = "unsafe_path"
    status_code = 400


class VersionError(InvalidInputError):
    """A version or version spec is not valid SemVer, or a bump is not possible."""

    code = "invalid_version"
    status_code = 400


class CardNotFoundError(OpsmlError, LookupError):
    """No card matches the name, repository, version spec or uid that was asked for."""

    code = "card_not_found"
    status_code = 404


class ArtifactNotFoundError(OpsmlError, LookupError):
    """A card has no artifact at the relative path that was asked for."""

    code = "artifact_not_found"
    status_code = 404


class VersionConflictError(OpsmlError):
    """The explicit version of a card is already taken (versions are never reused)."""

    code = "version_conflict"
    status_code = 409


class AliasInUseError(OpsmlError):
    """A version that an alias points to cannot be deleted: move or delete the alias first."""

    code = "alias_in_use"
    status_code = 409


class DeploymentInUseError(OpsmlError):
    """The card is the current deployment of a target; the message names the target."""

    code = "deployment_in_use"
    status_code = 409


class DeploymentStateError(OpsmlError):
    """A deployment record that would be an illegal state change (a stale recorder)."""

    code = "deployment_state"
    status_code = 409


class DeploymentNotFoundError(OpsmlError, LookupError):
    """A target without a current deployment."""

    code = "deployment_not_found"
    status_code = 404


class ApprovalNotFoundError(OpsmlError, LookupError):
    """No approval request with that id (docs/design.md §19)."""

    code = "approval_not_found"
    status_code = 404


class ApprovalStateError(OpsmlError):
    """An approval request that cannot be decided: decided already, expired, or stale
    (its card was deleted or the alias moved since); the message says which.
    """

    code = "approval_state"
    status_code = 409


class ArtifactIntegrityError(OpsmlError):
    """A stored or transferred file does not match its recorded SHA-256 digest or size."""

    code = "artifact_integrity"
    status_code = 422


class SignatureRequiredError(InvalidInputError):
    """A registration is unsigned where signatures are required, or its signature is not its own."""

    code = "signature_required"
    status_code = 400


class SignatureVerificationError(OpsmlError):
    """A card's signature is missing, made by an untrusted key, or does not match its files."""

    code = "signature_verification"
    status_code = 422


class PayloadTooLargeError(InvalidInputError):
    """An upload is larger than the server accepts."""

    code = "payload_too_large"
    status_code = 413


class AuthenticationError(OpsmlError):
    """The registry needs a user name and password, and they are missing or wrong."""

    code = "authentication_failed"
    status_code = 401


class PermissionDeniedError(OpsmlError):
    """The caller may not do this here (a write to production without the production token)."""

    code = "permission_denied"
    status_code = 403


class TooManyAttemptsError(OpsmlError):
    """Too many failed logins for a user or from an address; wait and retry (429)."""

    code = "too_many_attempts"
    status_code = 429
    headers: dict[str, str] | None = None
    """Response headers (``Retry-After``) a server sends with the error."""


class IdentityNotFoundError(OpsmlError, LookupError):
    """No such user or service token (404)."""

    code = "identity_not_found"
    status_code = 404


class IdentityConflictError(OpsmlError):
    """A user or service token of that name exists already (409)."""

    code = "identity_conflict"
    status_code = 409


class LastAdministratorError(IdentityConflictError):
    """The change would leave the registry's database without a global administrator (409):
    removing its last one, or revoking that one's global ``admin`` (docs/security.md).

    Example:
        >>> LastAdministratorError("alice is the last administrator").status_code
        409

    """

    code = "last_administrator"
    status_code = 409


class StorageError(OpsmlError):
    """The artifact storage failed or cannot be reached."""

    code = "storage_error"
    status_code = 503


class PresignUnsupportedError(OpsmlError):
    """The artifact store cannot presign URLs (a folder, GCS): transfer through the server.

    Example:
        >>> PresignUnsupportedError("a folder store cannot presign").code
        'presign_unsupported'

    """

    code = "presign_unsupported"
    status_code = 409


class BackendUnavailableError(OpsmlError):
    """The registry server or database cannot be reached."""

    code = "backend_unavailable"
    status_code = 503


class RegistryDatabaseError(BackendUnavailableError):
    """The registry database refused an operation (a migration, a constraint, a deadlock...).

    The database could be reached; the message says what failed and names the
    database by dialect, host, port and name, never by its credentials.

    Example:
        >>> isinstance(RegistryDatabaseError("schema migration failed"), BackendUnavailableError)
        True

    """

    code = "database_error"
    status_code = 503


class ConfigurationError(OpsmlError):
    """The configuration (environment or ``configure``) is invalid."""

    code = "configuration_error"
    status_code = 500


class MissingDependencyError(OpsmlError, ImportError):
    """An optional dependency is needed for this card or backend; the message names the extra."""

    code = "missing_dependency"
    status_code = 500


ERRORS_BY_CODE: dict[str, type[OpsmlError]] = {
    cls.code: cls
    for cls in (
        OpsmlError,
        InvalidInputError,
        UnsafePathError,
        VersionError,
        CardNotFoundError,
        ArtifactNotFoundError,
        VersionConflictError,
        AliasInUseError,
        DeploymentInUseError,
        DeploymentStateError,
        DeploymentNotFoundError,
        ApprovalNotFoundError,
        ApprovalStateError,
        ArtifactIntegrityError,
        SignatureRequiredError,
        SignatureVerificationError,
        PayloadTooLargeError,
        AuthenticationError,
        PermissionDeniedError,
        TooManyAttemptsError,
        IdentityNotFoundError,
        IdentityConflictError,
        LastAdministratorError,
        StorageError,
        PresignUnsupportedError,
        BackendUnavailableError,
        RegistryDatabaseError,
        ConfigurationError,
        MissingDependencyError,
    )
}


def error_from_code(code: str, message: str) -> OpsmlError:
    """Rebuild the error a server reported, falling back to :class:`OpsmlError`.

    Example:
        >>> type(error_from_code("card_not_found", "no card")).__name__
        'CardNotFoundError'

    """
    return ERRORS_BY_CODE.get(code, OpsmlError)(message)


def require(module: str, extra: str) -> None:
    """Raise :class:`MissingDependencyError` naming the extra when ``module`` is missing.

    Example:
        >>> require("json", "core")

    """
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(
            f"this needs the '{module}' package: install it with "
            f"`pip install 'opsml-prefect[{extra}]'`"
        )
