"""Stateful fuzzing of every route in CI, once per role, on a server with auth: no 5xx, and
every answer as the schema says (issue 30, "fuzzing in CI"; the machinery is in
``opsml_testing/fuzzing.py``). Bounded to ``SCENARIOS`` × ``STEPS`` per role; ``benchmarks/fuzz.py``
runs the same machine for as many requests as asked and its figures are in
``docs/reliability.md``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsml_testing.fuzzing import ROLES, Identities, fuzz_server, run_role

SCENARIOS = 10
STEPS = 10


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Any, Identities]]:
    root = Path(tempfile.mkdtemp(prefix="opsml-stateful-"))
    with fuzz_server(root) as running:
        yield running
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("role", ROLES)
def test_stateful_fuzz_has_no_server_errors(server: tuple[Any, Identities], role: str) -> None:
    schema, identities = server
    tally = run_role(schema, identities, role, SCENARIOS, STEPS)
    assert sum(tally.values()) >= SCENARIOS  # it ran
    assert not [status for status in tally if status >= 500], tally
    assert tally[401] == 0, tally  # it fuzzed as the role, not as a stranger
    if role in ("writer", "admin", "bootstrap"):  # writes went through, not only refusals
        assert tally[201] > 0, tally
    if role == "none":  # every card and identity route refuses it (403), except the open ones
        assert tally[403] > 0, tally
