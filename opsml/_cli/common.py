"""What every ``opsml`` command shares: one-line errors and exit code 1."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

import typer

from opsml.card_kinds import REGISTRY_TYPES
from opsml.errors import OpsmlError

REGISTRY_HELP = f"Card kind: {', '.join(REGISTRY_TYPES)}."
"""Help text of every ``--registry`` option (the kinds come from :data:`REGISTRY_TYPES`)."""


def fail(message: str) -> NoReturn:
    """Print ``error: message`` in red on stderr and exit with code 1.

    Example:
        >>> fail("no such card")  # doctest: +SKIP

    """
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def run(fn: Callable[[], object]) -> None:
    """Call ``fn`` and turn an :class:`~opsml.errors.OpsmlError` into one line and exit code 1.

    Example:
        >>> run(lambda: None)

    """
    try:
        fn()
    except OpsmlError as exc:
        fail(exc.message)
