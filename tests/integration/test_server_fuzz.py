"""Property-based fuzzing of the published OpenAPI schema (schemathesis 4, in-process ASGI).

Every operation gets a bounded number of generated requests; none may get a 5xx
or a response that violates the schema. Operations whose every input rule is in the
schema must also accept every schema-valid request (no 400 for what the schema allows).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from opsml_server.app import create_app
from opsml_server.settings import ServerSettings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

_ROOT = Path(tempfile.mkdtemp(prefix="opsml-fuzz-"))


def _app(name: str) -> FastAPI:
    root = _ROOT / name
    return create_app(
        ServerSettings(
            database_url=f"sqlite:///{(root / 'registry.db').as_posix()}",
            storage_uri=(root / "storage").as_posix(),
            max_inline_size=1024 * 1024,
        )
    )


APP = _app("errors")
# The acceptance test gets a registry of its own: on one shared with the test above,
# the users that test creates turn auth on, every request is then a 401, and a 400 for
# a schema-valid request would go unseen.
OPEN_APP = _app("acceptance")
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
open_schema = schemathesis.openapi.from_asgi("/openapi.json", OPEN_APP)


@pytest.fixture(scope="module", autouse=True)
def _lifespan() -> Iterator[None]:
    (_ROOT / "errors").mkdir(parents=True, exist_ok=True)
    (_ROOT / "acceptance").mkdir(parents=True, exist_ok=True)
    with TestClient(APP), TestClient(OPEN_APP):  # lifespans: backend and staging on state
        yield
    import shutil

    shutil.rmtree(_ROOT, ignore_errors=True)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_has_no_server_errors_or_schema_violations(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)


NOT_EXPRESSIBLE = {
    "list_cards": "cursor: an opaque token of a previous page; version: a SemVer spec",
    "list_page": "cursor and version, as list_cards",
    "count_cards": "version: a SemVer spec",
    "find_card": "version: a SemVer spec",
    "register_card": "the card's registry must be the one of the URL (two fields)",
    "create_upload": "file paths must be unique within the card (uniqueItems on a field)",
    "create_presigned_upload": "file paths must be unique within the card, as create_upload",
    "add_user": "the first user of a registry without users needs a password (it becomes "
    "the administrator and turns auth on): a rule of the registry's state",
    "create_token": "expires_at must be in the future (a rule of the clock); without user, "
    "the caller must be a user of the database (the bootstrap administrator is not)",
}
"""Operations with an input rule JSON Schema cannot state, and the rule."""


@open_schema.exclude(operation_id=list(NOT_EXPRESSIBLE)).parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_schema_valid_requests_are_accepted(case: schemathesis.Case) -> None:
    """Issue 30 item 8: the name, repository, alias, file path, tags and ``links_to`` rules
    and the multipart ``card`` JSON are declared, so a schema-valid request is never a 400.
    """
    case.call_and_validate(checks=[not_a_server_error, positive_data_acceptance])
