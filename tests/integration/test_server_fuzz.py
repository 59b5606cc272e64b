"""Property-based fuzzing of the published OpenAPI schema (schemathesis 4, in-process ASGI).

Every operation gets a bounded number of generated requests; none may get a 5xx
or a response that violates the schema.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from opsml_server.app import create_app
from opsml_server.settings import ServerSettings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

_ROOT = Path(tempfile.mkdtemp(prefix="opsml-fuzz-"))
APP = create_app(
    ServerSettings(
        database_url=f"sqlite:///{(_ROOT / 'registry.db').as_posix()}",
        storage_uri=(_ROOT / "storage").as_posix(),
        staging_dir=_ROOT / "staging",
        max_inline_size=1024 * 1024,
    )
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def _lifespan() -> Iterator[None]:
    with TestClient(APP):  # runs the lifespan: backend and staging on APP.state
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
    # Schema-valid data may still be refused with 400 (names, version specs and tags
    # have rules a JSON schema does not express), so positive_data_acceptance is not run.
    case.call_and_validate(checks=CHECKS)
