"""Secrets: argon2 password hashes and random service tokens kept as SHA-256 digests.

Tokens are 256 random bits, so a fast digest is as safe as a slow hash for them
(nothing to brute-force) and lets a request look its token up by an index
instead of running argon2 on every call; docs/security.md explains the choice.

Example:
    >>> token = new_token()
    >>> token.startswith(TOKEN_PREFIX), len(token_digest(token))
    (True, 64)

"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from opsml.errors import MissingDependencyError

if TYPE_CHECKING:
    from argon2 import PasswordHasher

TOKEN_PREFIX = "opsml_"


@functools.lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    try:
        from argon2 import PasswordHasher
    except ImportError as exc:  # pragma: no cover - argon2-cffi ships with the server extra
        raise MissingDependencyError(
            "user passwords need argon2-cffi: pip install 'opsml-prefect[server]'"
        ) from exc
    return PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted; never reversible).

    Example:
        >>> hash_password("s3cret").startswith("$argon2id$")
        True

    """
    return _hasher().hash(password)


def verify_password(stored: str, password: str) -> bool:
    """True when ``password`` matches the argon2 hash ``stored``."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


class VerifiedPasswords:
    """Which (stored argon2 hash, password) pairs argon2 already accepted in this process.

    argon2 is slow on purpose (tens to hundreds of milliseconds); this lets a
    password be verified once per process while the stored hash is still read
    from the database on every check, so a changed password or a removed user
    takes effect at once. Pairs are kept only as an HMAC under a random
    per-process key (nothing to guess offline), at most ``limit`` of them.

    Example:
        >>> seen = VerifiedPasswords()
        >>> stored = hash_password("pw")
        >>> seen.verify(stored, "pw"), seen.verify(stored, "pw"), seen.verify(stored, "no")
        (True, True, False)

    """

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._key = secrets.token_bytes(32)
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, stored: str, password: str) -> bool:
        """True when ``password`` matches ``stored`` (argon2 only the first time)."""
        message = stored.encode() + b"\0" + password.encode("utf-8", "replace")
        key = hmac.new(self._key, message, hashlib.sha256).digest()
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return True
        if not verify_password(stored, password):
            return False
        with self._lock:
            self._seen[key] = None
            while len(self._seen) > self.limit:
                self._seen.popitem(last=False)
        return True


def new_token() -> str:
    """A new service token: ``opsml_`` and 256 random bits (URL-safe base64)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
