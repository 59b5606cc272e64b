"""An import-linter contract type for a positive rule: what a set of modules may import.

import-linter's own contracts forbid; this one allows. ``lint-imports`` loads it
through ``contract_types`` in ``pyproject.toml``::

    [[tool.importlinter.contracts]]
    type = "allowed"
    source_modules = ["opsml_server.api"]         # these packages, every module in them,
    within = "opsml"                              # import from this package
    allowed_modules = ["opsml.errors", "opsml.schemas*"]  # only these (fnmatch, as packages)

Each direct import (also inside functions and under ``TYPE_CHECKING``) of a source
module that lands in ``within`` must be one of ``allowed_modules`` or inside one of them.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import cast

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


def is_allowed(module: str, patterns: list[str]) -> bool:
    """Whether ``module`` matches a pattern or lies inside a module that does.

    Example:
        >>> is_allowed("opsml.schemas_rules", ["opsml.schemas*"])
        True
        >>> is_allowed("opsml.auth.roles", ["opsml.auth"])
        True
        >>> is_allowed("opsml.storage", ["opsml.schemas*", "opsml.auth"])
        False

    """
    parts = module.split(".")
    prefixes = [".".join(parts[:n]) for n in range(1, len(parts) + 1)]
    return any(fnmatchcase(prefix, pattern) for prefix in prefixes for pattern in patterns)


class AllowedContract(Contract):
    """Modules of ``source_modules`` import from ``within`` only ``allowed_modules``."""

    type_name = "allowed"

    source_modules = fields.ListField(subfield=fields.StringField())
    within = fields.StringField()
    allowed_modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        """Every import from ``within`` that no allowed pattern covers breaks the contract."""
        sources: set[str] = set()
        for source in cast("list[str]", self.source_modules):
            sources |= {source} | graph.find_descendants(source)
        allowed = list(cast("list[str]", self.allowed_modules))
        within = cast(str, self.within)
        illegal = []
        for importer in sorted(sources):
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                inside = imported == within or imported.startswith(within + ".")
                if inside and not is_allowed(imported, allowed):
                    details = graph.get_import_details(importer=importer, imported=imported)
                    lines = [d["line_number"] for d in details]
                    illegal.append((importer, imported, lines))
        return ContractCheck(kept=not illegal, warnings=None, metadata={"illegal": illegal})

    def render_broken_contract(self, check: ContractCheck) -> None:
        """One line per import that is not allowed."""
        allowed = ", ".join(cast("list[str]", self.allowed_modules))
        output.print_error(f"Allowed from {self.within}: {allowed}", bold=False)
        output.new_line()
        for importer, imported, lines in check.metadata["illegal"]:
            where = ", ".join(f"l.{n}" for n in lines)
            output.print_error(f"- {importer} -> {imported} ({where})", bold=False)
        output.new_line()
