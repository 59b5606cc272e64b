"""Cloud specifics of the artifact store: options from the standard environment, errors.

Credentials are never passed around by opsml: each cloud library reads them
from its standard places in the environment of the process that owns the store
(the registry server, or an embedded user).

- S3 (``s3fs``/botocore): ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``
  (``AWS_SESSION_TOKEN``), or ``AWS_PROFILE``, or an instance/IRSA role;
  ``AWS_DEFAULT_REGION``; ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` for an
  S3-compatible endpoint (MinIO, an emulator).
- GCS (``gcsfs``): ``GOOGLE_APPLICATION_CREDENTIALS`` (a service-account JSON
  file), else Application Default Credentials (workload identity, gcloud);
  ``GOOGLE_CLOUD_PROJECT``; ``STORAGE_EMULATOR_HOST`` for an emulator (then
  anonymous unless a credentials file is set).
"""

from __future__ import annotations

import importlib.util
import os
import re
from typing import Any

from opsml.errors import MissingDependencyError

MIB = 1024 * 1024
MULTIPART_BLOCK_SIZE = 16 * MIB
"""Part size of multipart (S3) and resumable (GCS) uploads: one part is buffered at a time."""
READ_BLOCK_SIZE = 8 * MIB
"""Bytes fetched by one ranged GET when streaming a download from GCS (S3 streams one GET)."""
PROBE_TIMEOUT = 5.0
"""Seconds a readiness probe of a cloud store may take."""
GCS_RETRIES = 4
"""Attempts per GCS request (gcsfs: 6, i.e. ~30 s of backoff before an outage shows)."""
S3_MAX_PARTS = 10_000
GCS_BLOCK_MULTIPLE = 256 * 1024

PACKAGES = {"s3": ("s3fs", "s3"), "gs": ("gcsfs", "gcs")}
PROTOCOLS = {"s3": "s3", "s3a": "s3", "gs": "gs", "gcs": "gs"}
_CREDENTIAL_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
)


def cloud_kind(protocol: str) -> str | None:
    """``s3``, ``gs`` or ``None`` (a folder or another fsspec protocol)."""
    return PROTOCOLS.get(protocol)


def require_package(kind: str) -> None:
    """Raise :class:`MissingDependencyError` naming the extra when the cloud package is absent.

    Example:
        >>> require_package("s3")  # installed in the dev environment

    """
    package, extra = PACKAGES[kind]
    try:
        found = importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules
        found = False
    if not found:
        raise MissingDependencyError(
            f"{'s3://' if kind == 's3' else 'gs://'} storage needs the '{package}' package: "
            f"install it with `pip install 'opsml-prefect[{extra}]'`"
        )


def block_size_for(size: int, base: int = MULTIPART_BLOCK_SIZE) -> int:
    """The part size for a file of ``size`` bytes: ``base``, grown so S3's 10,000 parts suffice.

    Example:
        >>> block_size_for(1) == MULTIPART_BLOCK_SIZE
        True
        >>> block_size_for(1024**4) // MIB  # 1 TiB: 10,000 parts of 105 MiB
        105

    """
    needed = -(-size // (S3_MAX_PARTS - 1))
    block = max(base, needed)
    return -(-block // GCS_BLOCK_MULTIPLE) * GCS_BLOCK_MULTIPLE


def default_options(kind: str | None, block_size: int) -> dict[str, Any]:
    """Options for fsspec for ``kind``, from the standard environment of this process."""
    options: dict[str, Any] = {"skip_instance_cache": True, "use_listings_cache": False}
    if kind == "s3":
        options["default_block_size"] = block_size
        options["config_kwargs"] = {
            "connect_timeout": 10,
            "read_timeout": 60,
            "retries": {"max_attempts": 3, "mode": "standard"},
        }
    elif kind == "gs":
        options["block_size"] = block_size
        if os.environ.get("STORAGE_EMULATOR_HOST") and not os.environ.get(
            "GOOGLE_APPLICATION_CREDENTIALS"
        ):
            options["token"] = "anon"
        else:  # never gcsfs's silent fallback to anonymous access: bad credentials fail loudly
            options["token"] = "google_default"
        project = os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("GCLOUD_PROJECT")
        if project:
            options["project"] = project
    return options


def gcs_filesystem(**options: Any) -> Any:
    """A ``gcsfs.GCSFileSystem`` that gives up after :data:`GCS_RETRIES` attempts.

    gcsfs retries every request 6 times with exponential backoff (about 30 s),
    longer than an HTTP client waits for the server: a storage outage would look
    like an unreachable server instead of a clear :class:`StorageError`.
    """
    global _GCS_CLASS
    if _GCS_CLASS is None:
        import gcsfs
        from gcsfs.retry import retry_request

        base = gcsfs.GCSFileSystem
        original = base._request.__wrapped__  # the undecorated coroutine function

        class _OpsmlGCSFileSystem(base):  # type: ignore[misc, valid-type]
            @retry_request(retries=GCS_RETRIES)  # type: ignore[untyped-decorator]
            async def _request(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
                return await original(self, method, path, *args, **kwargs)

        _GCS_CLASS = _OpsmlGCSFileSystem
    return _GCS_CLASS(**options)


_GCS_CLASS: Any = None


def redact_uri(uri: str) -> str:
    """``uri`` without any ``user:password@`` part.

    Example:
        >>> redact_uri("s3://KEY:SECRET@bucket/prefix")
        's3://bucket/prefix'

    """
    return re.sub(r"^([a-z0-9+.-]+://)[^/@]*@", r"\1", uri, flags=re.IGNORECASE)


def scrub(text: str) -> str:
    """``text`` with every credential value of this process's environment removed."""
    for var in _CREDENTIAL_VARS:
        value = os.environ.get(var)
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    text = re.sub(r"(?i)(signature|credential|x-amz-security-token|token)=[^&\s]+", r"\1=***", text)
    return text


def _names(exc: BaseException) -> str:
    chain: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 6:
        chain.append(f"{type(seen).__name__} {seen}")
        seen = seen.__cause__ or seen.__context__
    return " | ".join(chain)


def explain(exc: BaseException, bucket: str, uri: str) -> str:
    """A short reason for a cloud failure that names the bucket, never a credential."""
    text = _names(exc)
    lowered = text.lower()
    if "nocredentials" in lowered or "unable to locate credentials" in lowered:
        return (
            f"no credentials for {uri}: give the server AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE or a role"
        )
    if (
        "defaultcredentialserror" in lowered
        or "service account" in lowered
        or ("google.auth" in lowered and "credential" in lowered)
    ):
        return (
            f"the GCS credentials for {uri} are missing or invalid: check "
            "GOOGLE_APPLICATION_CREDENTIALS (a service-account file) on the server"
        )
    if isinstance(exc, PermissionError) or any(
        word in lowered
        for word in (
            "accessdenied",
            "access denied",
            "invalidaccesskeyid",
            "signaturedoesnotmatch",
            "forbidden",
            "401",
            "403",
            "invalid_grant",
        )
    ):
        return (
            f"access to bucket {bucket!r} ({uri}) was denied: the server's storage "
            "credentials are wrong or lack permission"
        )
    if "nosuchbucket" in lowered or "bucket does not exist" in lowered:
        return f"bucket {bucket!r} ({uri}) does not exist"
    if any(
        word in lowered
        for word in ("connect", "endpoint", "timeout", "timed out", "refused", "reset")
    ):
        return f"the storage endpoint of {uri} cannot be reached"
    return f"{type(exc).__name__}: {scrub(str(exc))[:200]}"
