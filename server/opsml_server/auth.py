"""Who is calling: basic auth (the bootstrap administrator or a database user) or a
bearer service token, with a short cache of verified credentials and a limit on
failed logins.

Bounds (docs/security.md): a verified credential is reused for at most
``CACHE_SECONDS`` on a replica, so a revoked or expired token, a removed user or
a changed grant takes effect on every replica within that time. Failed
password logins are counted per user name and client address, per user name,
and per client address (a far higher bound, so that one address shared by a
whole company behind a proxy is not locked out by one user's mistakes), in a
bounded in-memory window on each replica (so across ``n`` replicas an attacker
gets at most ``n`` times the limits). Bearer tokens (256 random bits) are never
locked out: a valid one always passes; wrong ones from an address past its
bound are answered 429 instead of 401.

Example:
    >>> limiter = LoginLimiter(window=60.0)
    >>> limiter.fail(["user:a"]); limiter.blocked({"user:a": 2, "user:b": 1})
    False
    >>> limiter.fail(["user:a"]); limiter.blocked({"user:a": 2, "user:b": 1})
    True

"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import ipaddress
import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from fastapi.concurrency import run_in_threadpool

from opsml.auth.roles import GLOBAL, Principal, Role
from opsml.errors import AuthenticationError, OpsmlError, TooManyAttemptsError

if TYPE_CHECKING:
    from opsml.auth.store import CredentialStore
    from opsml_server.settings import ServerSettings

CACHE_SECONDS = 5.0
"""How long a verified credential (and "the database has users") is reused."""
MAX_ENTRIES = 10_000
"""Bound of the credential cache and of the failed-login window (oldest dropped first)."""

_REFUSED = (
    "this registry needs credentials: set OPSML_TOKEN (a service token, sent as a bearer "
    "token) or OPSML_USERNAME and OPSML_PASSWORD (missing, wrong, expired or revoked)"
)


class LoginLimiter:
    """Failed logins per key (``pair:NAME@IP``, ``user:NAME``, ``addr:IP``) in a sliding window.

    Each check names the limit of each key, so one window holds keys of different bounds.
    """

    def __init__(self, window: float) -> None:
        self.window = window
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()  # verification runs in the thread pool

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def blocked(self, limits: Mapping[str, int]) -> bool:
        """True when any key reached its limit within the window."""
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(key, now)) >= limit for key, limit in limits.items())

    def fail(self, keys: Iterable[str]) -> None:
        """Count one failed login against every key."""
        now = time.monotonic()
        with self._lock:
            for key in keys:
                failures = self._recent(key, now)
                failures.append(now)
                self._failures[key] = failures
                self._failures.move_to_end(key)
            while len(self._failures) > MAX_ENTRIES:
                self._failures.popitem(last=False)


def _basic(value: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    if not sep:
        return None
    return user.decode("utf-8", "replace"), password.decode("utf-8", "replace")


class Authenticator:
    """Turns an ``Authorization`` header into a :class:`Principal` (``None``: auth is off).

    Args:
        settings: the server's settings (bootstrap administrator, limits).

    The identity store is attached in the app's lifespan (``store``: the backend's
    ``identity()``, which checks credentials).

    """

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.proxies = [
            ipaddress.ip_network(part.strip(), strict=False)
            for part in settings.trusted_proxies.split(",")
            if part.strip()
        ]
        self.store: CredentialStore | None = None
        self.limiter = LoginLimiter(settings.login_failure_window)
        self._cache: OrderedDict[bytes, tuple[float, Principal]] = OrderedDict()
        self._has_users: tuple[float, bool] = (0.0, False)

    def auth_on(self) -> bool:
        """Whether requests need credentials: a bootstrap administrator, or users in the database.

        A database that cannot be read counts as auth on (never open by mistake).
        """
        try:
            return self._auth_on()
        except OpsmlError:
            return True

    def _auth_on(self) -> bool:
        if self.settings.auth_enabled:
            return True
        if self.store is None:
            return False
        checked, has = self._has_users
        if time.monotonic() - checked > CACHE_SECONDS:
            has = self.store.has_users()
            self._has_users = (time.monotonic(), has)
        return has

    def users_changed(self) -> None:
        """Forget whether the database has users: the next request asks it (auth turns on
        at once on this replica when an open server made its first user).
        """
        self._has_users = (0.0, False)

    def _bootstrap(self, user: str, password: str) -> Principal | None:
        settings = self.settings
        if settings.username is None or settings.password is None:
            return None
        # both comparisons always run, in constant time
        user_ok = secrets.compare_digest(user.encode(), settings.username.encode())
        password_ok = secrets.compare_digest(
            password.encode(), settings.password.get_secret_value().encode()
        )
        return Principal(user, {GLOBAL: Role.ADMIN}) if user_ok and password_ok else None

    def _too_many(self) -> TooManyAttemptsError:
        window = self.settings.login_failure_window
        error = TooManyAttemptsError(
            f"too many failed logins for this user or address: wait {window:g} seconds and retry"
        )
        error.headers = {"Retry-After": str(math.ceil(window))}
        return error

    def _verify_token(self, token: str, client: str) -> Principal:
        """A bearer token: looked up every time (never locked out), wrong ones rate-limited."""
        principal = self.store.principal_for_token(token) if self.store is not None else None
        if principal is not None:
            return principal
        key = f"token:{client}"
        if self.limiter.blocked({key: self.settings.login_failure_address_limit}):
            raise self._too_many()
        self.limiter.fail([key])
        raise AuthenticationError(_REFUSED)

    def _verify(self, header: str, client: str) -> Principal:
        """Check the credentials (blocking: argon2 or a database lookup)."""
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return self._verify_token(value.strip(), client)
        given = _basic(value) if scheme.lower() == "basic" else None
        if given is None:
            raise AuthenticationError(_REFUSED)
        settings = self.settings
        limits = {
            f"pair:{given[0]}@{client}": settings.login_failure_limit,
            f"user:{given[0]}": settings.login_failure_user_limit,
            f"addr:{client}": settings.login_failure_address_limit,
        }
        if self.limiter.blocked(limits):  # even the right password: no guessing through it
            raise self._too_many()
        principal = self._bootstrap(*given)
        if principal is None and self.store is not None:
            principal = self.store.principal_for_password(*given)
        if principal is None:
            self.limiter.fail(limits)
            raise AuthenticationError(_REFUSED)
        return principal

    def _cached(self, key: bytes) -> Principal | None:
        hit = self._cache.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def trusted_proxy(self, client: str) -> bool:
        """True when ``client`` is one of the configured authenticating proxies."""
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        return any(address in network for network in self.proxies)

    async def authenticate(
        self, header: str | None, client: str, proxy_user: str | None = None, *, fresh: bool = False
    ) -> Principal | None:
        """The caller, ``None`` when the server has no auth.

        ``proxy_user`` (the proxy identity header) counts only from a trusted proxy;
        from anywhere else it is ignored. ``fresh`` checks the credentials and reads
        the grants again instead of reusing a cached answer (a commit does).

        Raises:
            AuthenticationError: auth is on and the credentials are missing or wrong (401).
            TooManyAttemptsError: too many failed logins (429).

        """
        auth_on = await run_in_threadpool(self._auth_on) if self._stale() else self._auth_on()
        if not auth_on:
            return None
        if proxy_user and self.store is not None and self.trusted_proxy(client):
            header, verify = f"proxy {proxy_user}", self.store.principal_for_name
            given = proxy_user
        elif not header:
            raise AuthenticationError(_REFUSED)
        else:
            verify, given = functools.partial(self._verify, client=client), header
        key = hashlib.sha256(header.encode("utf-8", "replace")).digest()
        principal = None if fresh else self._cached(key)
        if principal is None:
            principal = await run_in_threadpool(verify, given)
            self._cache[key] = (time.monotonic() + CACHE_SECONDS, principal)
            while len(self._cache) > MAX_ENTRIES:
                self._cache.popitem(last=False)
        return principal

    def _stale(self) -> bool:
        """True when deciding whether auth is on needs the database."""
        return (
            not self.settings.auth_enabled
            and self.store is not None
            and time.monotonic() - self._has_users[0] > CACHE_SECONDS
        )
