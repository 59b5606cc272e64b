"""The stateful fuzzing machinery shared by ``tests/integration/test_server_fuzz_stateful.py``
(bounded, in CI) and ``benchmarks/fuzz.py`` (as many requests as asked, figures for ``docs/``).

A registry server with auth runs in process over SQLite; schemathesis 4 builds a state
machine from its OpenAPI schema, with the links between operations it infers (a
registration's uid into get, update, delete, alias and download; an upload session's id
into its PUTs, commit and abort; a user's name into its grants, password and removal; a
token's name into its revocation). Each role (no grant, global reader, writer, admin, and
the bootstrap administrator) fuzzes as itself, with its own credentials.
"""

from __future__ import annotations

import base64
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from opsml_server.app import create_app
from opsml_server.settings import ServerSettings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from opsml.auth.roles import Role
from opsml.backends.sql import SqlBackend
from opsml_testing.databases import clear_tables

BOOTSTRAP = ("root", "bootstrap-password-1")
ROLES = ["none", "reader", "writer", "admin", "bootstrap"]
"""The roles that fuzz, each as itself."""
GRANTS: dict[str, Role | None] = {
    "none": None,
    "reader": Role.READER,
    "writer": Role.WRITER,
    "admin": Role.ADMIN,
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def build_app(root: Path) -> Any:
    """A registry server with auth over SQLite in ``root`` (not started)."""
    return create_app(
        ServerSettings(
            database_url=f"sqlite:///{(root / 'registry.db').as_posix()}",
            storage_uri=(root / "storage").as_posix(),
            max_inline_size=1024 * 1024,
            username=BOOTSTRAP[0],
            password=BOOTSTRAP[1],
        )
    )


class Identities:
    """A user per role (global grants) and its bearer token, kept alive while fuzzing.

    The fuzzer removes users, revokes tokens and grants, as it should: after each identity
    write, whatever it took from a role's user is made again (directly in the database),
    so that each role keeps fuzzing as itself. Each scenario starts from an empty registry
    (:meth:`reset`): the same generated steps then meet the same server state, which
    Hypothesis needs to replay them.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = f"sqlite:///{(root / 'registry.db').as_posix()}"
        self.backend = SqlBackend(self.url, str(root / "storage"))
        self.store = self.backend.identity()
        self.tokens: dict[str, str] = {}
        self.made = 0

    def ensure(self) -> None:
        """Every role's user, grant and a working token."""
        users = {user.name: user for user in self.store.list_users()}
        for role, grant in GRANTS.items():
            name = f"fuzz-{role}"
            user = users.get(name)
            if user is None:
                self.store.add_user(name, None, actor="fuzz")
            held = {g.role for g in user.grants if g.repository is None} if user else set()
            if grant is not None and grant not in held:
                self.store.grant(name, grant, None, actor="fuzz")
            token = self.tokens.get(role)
            if token is None or self.store.principal_for_token(token) is None:
                self.made += 1
                self.tokens[role] = self.store.create_token(f"{name}-{self.made}", name, None).token

    def reset(self) -> None:
        """An empty registry (tables and stored files) with the role users in it."""
        clear_tables(self.url)
        for folder in ("storage", "staging"):
            shutil.rmtree(self.root / folder, ignore_errors=True)
            (self.root / folder).mkdir()
        self.tokens.clear()
        self.ensure()

    def header(self, role: str) -> str:
        """The ``Authorization`` header of ``role`` now."""
        if role == "bootstrap":
            return "Basic " + base64.b64encode(f"{BOOTSTRAP[0]}:{BOOTSTRAP[1]}".encode()).decode()
        return f"Bearer {self.tokens[role]}"

    def close(self) -> None:
        """Dispose of the database engine."""
        self.backend.close()


def role_machine(schema: Any, role: str, identities: Identities, tally: Counter[int]) -> Any:
    """The schema's state machine acting as ``role``, counting the statuses it gets."""

    class RoleWorkflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            identities.reset()

        def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
            return {"headers": {"Authorization": identities.header(role)}}

        def after_call(self, response: Any, case: schemathesis.Case[Any]) -> None:
            path = case.operation.path
            if case.method != "GET" and path.startswith(("/api/v1/users", "/api/v1/tokens")):
                identities.ensure()

        def validate_response(
            self, response: Any, case: schemathesis.Case[Any], *args: Any, **kwargs: Any
        ) -> None:
            tally[response.status_code] += 1
            case.validate_response(response, checks=CHECKS, headers=kwargs.get("headers"))

    return RoleWorkflow


@contextmanager
def fuzz_server(root: Path) -> Iterator[tuple[Any, Identities]]:
    """A started server in ``root``, its schema (read as the bootstrap administrator), and
    the role identities.
    """
    app = build_app(root)
    with TestClient(app):  # the lifespan: migrations, backend, staging
        identities = Identities(root)
        identities.ensure()
        auth = {"Authorization": identities.header("bootstrap")}
        try:
            yield schemathesis.openapi.from_asgi("/openapi.json", app, headers=auth), identities
        finally:
            identities.close()


def run_role(
    schema: Any, identities: Identities, role: str, scenarios: int, steps: int
) -> Counter[int]:
    """Fuzz as ``role`` for ``scenarios`` scenarios of at most ``steps`` steps; the statuses.

    Raises:
        schemathesis.FailureGroup: a check failed (a 5xx, an answer the schema does not allow).

    """
    tally: Counter[int] = Counter()
    role_machine(schema, role, identities, tally).run(
        settings=settings(
            max_examples=scenarios,
            stateful_step_count=steps,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
    )
    return tally
