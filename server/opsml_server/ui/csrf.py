"""CSRF protection of the UI's write forms (the approval decisions, issue 33).

Browsers resend basic-auth credentials on their own, so a page on another site
could make a logged-in approver's browser POST a decision. Two checks stop it:

- **Origin.** A form POST must carry an ``Origin`` (or, failing that, a
  ``Referer``) naming this server's own host: a cross-site POST is refused.
- **A per-user token.** Each form carries ``csrf``: an HMAC of the user's name
  keyed by a digest of the request's own ``Authorization`` header. Any replica
  can check it (no server-side state, no shared secret to distribute), it is
  different per user and per credential (a changed password or token changes
  it), and another site cannot compute it without the credentials, nor read it
  from the page (same-origin policy).

A caller without an ``Authorization`` header (an authenticating proxy, or a
server without auth) gets no token and no forms.

Example:
    >>> token = csrf_token("bob", "Basic Ym9iOnB3")
    >>> check_token(token, "bob", "Basic Ym9iOnB3"), check_token(token, "eve", "Basic Ym9iOnB3")
    (True, False)
    >>> same_origin("http://reg:8080", None, "reg:8080"), same_origin("http://x", None, "reg:8080")
    (True, False)

"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from opsml.errors import PermissionDeniedError

FIELD = "csrf"
"""The name of the form field carrying the token."""


def csrf_token(user: str, authorization: str | None) -> str | None:
    """The token of ``user`` for requests carrying ``authorization`` (``None``: no forms)."""
    if not authorization:
        return None
    key = hashlib.sha256(b"opsml-ui-csrf\0" + authorization.encode("utf-8", "replace")).digest()
    return hmac.new(key, user.encode("utf-8", "replace"), hashlib.sha256).hexdigest()


def check_token(given: str | None, user: str, authorization: str | None) -> bool:
    """True when ``given`` is the token of ``user`` for these credentials (constant time)."""
    expected = csrf_token(user, authorization)
    return bool(given) and expected is not None and hmac.compare_digest(given or "", expected)


def same_origin(origin: str | None, referer: str | None, host: str | None) -> bool:
    """True when the ``Origin`` (else the ``Referer``) names ``host`` (the request's Host)."""
    source = origin if origin and origin != "null" else referer
    if not source or not host:
        return False
    try:
        return urlsplit(source).netloc.lower() == host.lower()
    except ValueError:
        return False


def require_form(
    *, origin: str | None, referer: str | None, host: str | None, given: str | None, user: str,
    authorization: str | None,
) -> None:  # fmt: skip
    """Refuse a form POST from another site or without this user's token.

    Raises:
        PermissionDeniedError: naming which check failed (403; nothing is written).

    """
    if not same_origin(origin, referer, host):
        raise PermissionDeniedError(
            "this form was not sent from this registry's pages (Origin or Referer missing "
            "or naming another site): refused"
        )
    if not check_token(given, user, authorization):
        raise PermissionDeniedError(
            "the form's CSRF token is missing or wrong: reload the page and try again"
        )
