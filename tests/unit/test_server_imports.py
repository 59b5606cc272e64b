"""The server's upload machinery and routes use only the backend interface.

Read with :mod:`ast` (imports inside functions count too), so nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server" / "opsml_server"
CONCRETE = ("opsml.backends.sql", "opsml.storage")
"""What lies behind the interface: the SQL backend and the artifact store."""
BUILDERS = {"app.py", "auth.py", "ui/cardview.py"}
"""Modules that build concrete backends or identity stores (the composition roots)."""


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _concrete(path: Path) -> list[str]:
    return sorted(n for n in _imports(path) if n.startswith(CONCRETE))


def test_routes_and_upload_service_import_only_the_interface() -> None:
    checked = [*sorted((SERVER / "api").rglob("*.py")), SERVER / "upload_service.py"]
    assert len(checked) > 10  # the routes were found
    found = {str(p.relative_to(SERVER)): _concrete(p) for p in checked if _concrete(p)}
    assert found == {}


def test_only_the_builders_import_the_sql_backend() -> None:
    importers = {
        p.relative_to(SERVER).as_posix()
        for p in SERVER.rglob("*.py")
        if any(n.startswith("opsml.backends.sql") for n in _imports(p))
    }
    assert "app.py" in importers  # the check sees a real import
    assert importers <= BUILDERS


def test_the_scan_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from opsml.backends.sql._sessions import X\n")
    assert _concrete(module) == ["opsml.backends.sql._sessions"]
