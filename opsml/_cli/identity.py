"""``opsml users`` and ``opsml tokens``: against the registry server named by
``OPSML_TRACKING_URI`` (administrator credentials), or against its database directly
when the tracking URI is a database URL. The first user of a registry without users (and,
on a server, without a bootstrap administrator) is its administrator.

Example:
    $ OPSML_TRACKING_URI=http://registry:8080 opsml users add alice --password ...
    $ export OPSML_USERNAME=alice OPSML_PASSWORD=...   # alice is the administrator now
    $ opsml users add ci-bot --no-password && opsml users grant ci-bot writer --repository ds
    $ opsml tokens create ci --user ci-bot --expires 90d

"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from opsml._cli.common import DURATION_HELP, fail, parse_duration, run
from opsml.auth.roles import Role

if TYPE_CHECKING:
    from opsml.auth.store import IdentityStore

users_app = typer.Typer(help="Registry users and their roles.", no_args_is_help=True)
tokens_app = typer.Typer(help="Service tokens (sent as OPSML_TOKEN).", no_args_is_help=True)

Repository = Annotated[str | None, typer.Option(help="The repository (default: every repository).")]


def _me() -> str | None:
    """Who runs the command, for the audit log of a database (a server records its caller)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user database entry in some containers
        return None


@contextmanager
def _store() -> Iterator[IdentityStore]:
    """The identity store of the tracking URI's backend (a database's, or a server's)."""
    from opsml.backends import build_backend
    from opsml.config import get_settings

    backend = build_backend(get_settings())
    try:
        yield backend.identity()
    finally:
        backend.close()


def with_store(action: Callable[[IdentityStore], object], done: str | None = None) -> None:
    """Run ``action`` on the store; print ``done`` after it succeeded."""

    def call() -> None:
        with _store() as store:
            action(store)
        if done is not None:
            typer.echo(done)

    run(call)


def parse_expiry(value: str | None) -> datetime | None:
    """A duration (``90d``, ``12h``, ``30m``: :func:`parse_duration`) from now, as a UTC
    time (``None``: never).

    Example:
        >>> parse_expiry(None) is None
        True

    """
    if value is None:
        return None
    lifetime = parse_duration(value, "--expires")
    try:
        return datetime.now(UTC) + lifetime
    except OverflowError:
        fail(f"--expires is too long: {value!r}")


@users_app.command("add")
def users_add(
    name: str,
    password: Annotated[
        str | None, typer.Option(help="Its password (asked for when not given).")
    ] = None,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="A service user: tokens only.")
    ] = False,
) -> None:
    """Add a user (the password is stored as an argon2 hash). The first user of a registry
    without users is its administrator (the admin role on every repository).
    """
    if password is None and not no_password:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)

    def add(store: IdentityStore) -> None:
        user = store.add_user(name, password, actor=_me())
        typer.echo(f"added user {user.name}")
        if any(g.role is Role.ADMIN and g.repository is None for g in user.grants):
            typer.echo(
                f"{user.name} is the registry's first user: it holds the admin role on every "
                f"repository. A registry server now asks for credentials: log in as "
                f"{user.name} (OPSML_USERNAME and OPSML_PASSWORD) to add and grant the others."
            )

    with_store(add)


@users_app.command("passwd")
def users_passwd(
    name: str,
    password: Annotated[
        str | None, typer.Option(help="The new password (asked for when not given).")
    ] = None,
) -> None:
    """Replace a user's password (audited; the old one stops working)."""
    if password is None:
        password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    with_store(
        lambda store: store.set_password(name, password, actor=_me()), f"changed password of {name}"
    )


@users_app.command("list")
def users_list() -> None:
    """Every user with its roles (role@repository; * is every repository)."""

    def show(store: IdentityStore) -> None:
        for user in store.list_users():
            roles = ", ".join(f"{g.role.value}@{g.repository or '*'}" for g in user.grants)
            typer.echo(f"{user.name}\t{roles or '-'}")

    with_store(show)


@users_app.command("remove")
def users_remove(name: str) -> None:
    """Remove a user with its roles and tokens."""
    with_store(lambda store: store.remove_user(name, actor=_me()), f"removed user {name}")


@users_app.command("grant")
def users_grant(user: str, role: Role, repository: Repository = None) -> None:
    """Give USER the ROLE (reader, writer, admin, approver) on --repository, or on every
    repository.
    """
    where = repository or "every repository"
    done = f"{user}: {role} on {where}"
    with_store(lambda store: store.grant(user, role, repository, actor=_me()), done)


@users_app.command("revoke")
def users_revoke(user: str, role: Role, repository: Repository = None) -> None:
    """Take the ROLE on --repository (or the global one) from USER."""
    where = repository or "every repository"
    done = f"{user}: no {role} on {where}"
    with_store(lambda store: store.revoke(user, role, repository, actor=_me()), done)


@tokens_app.command("create")
def tokens_create(
    name: str,
    user: Annotated[
        str | None,
        typer.Option(
            help="The user it acts for (through a server: default you, when you are a user of "
            "its database; against a database: required)."
        ),
    ] = None,
    expires: Annotated[str | None, typer.Option(help=f"Lifetime: {DURATION_HELP}.")] = None,
) -> None:
    """Create a service token; it is printed once and never shown again."""
    expires_at = parse_expiry(expires)
    with_store(
        lambda store: typer.echo(store.create_token(name, user, expires_at, actor=_me()).token)
    )


@tokens_app.command("list")
def tokens_list(user: Annotated[str | None, typer.Option(help="Only this user's.")] = None) -> None:
    """The service tokens: name, user, expiry, last use (never the tokens)."""

    def show(store: IdentityStore) -> None:
        for token in store.list_tokens(user):
            expires = token.expires_at.isoformat() if token.expires_at else "never"
            used = token.last_used_at.isoformat() if token.last_used_at else "never"
            typer.echo(f"{token.name}\t{token.user}\texpires {expires}\tlast used {used}")

    with_store(show)


@tokens_app.command("revoke")
def tokens_revoke(name: str) -> None:
    """Revoke a service token."""
    with_store(lambda store: store.revoke_token(name, actor=_me()), f"revoked token {name}")
