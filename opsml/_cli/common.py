"""What every ``opsml`` command shares: one-line errors and exit code 1."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from opsml.card_kinds import REGISTRY_TYPES
from opsml.errors import OpsmlError

if TYPE_CHECKING:
    from opsml.schemas_pages import CursorPage

_ItemT = TypeVar("_ItemT")

REGISTRY_HELP = f"Card kind: {', '.join(REGISTRY_TYPES)}."
"""Help text of every ``--registry`` option (the kinds come from :data:`REGISTRY_TYPES`)."""

PageLimit = Annotated[int, typer.Option(min=1, max=1000)]
"""The ``--limit`` option of a listing command: items a page, 1 to 1000."""

PageCursor = Annotated[int | None, typer.Option(help="next_cursor of the last page.")]
"""The ``--cursor`` option of a listing command: where the page goes on."""


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)")
_UNITS = {"": "seconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DURATION_HELP = "a number with a unit: 45s, 30m, 12h, 90d, 2w (no unit: seconds)"
"""How every duration option of the command line is written."""


def parse_duration(value: str, option: str) -> timedelta:
    """A duration written as in :data:`DURATION_HELP`; anything else fails naming ``option``.

    Example:
        >>> parse_duration("90d", "--expires").days, parse_duration("0s", "--older-than")
        (90, datetime.timedelta(0))
        >>> parse_duration("3600", "--older-than").total_seconds()
        3600.0

    """
    match = _DURATION.fullmatch(value.strip().lower())
    if match is None:
        fail(f"{option} must be {DURATION_HELP}; not {value!r}")
    try:
        return timedelta(**{_UNITS[match[2]]: float(match[1])})
    except OverflowError:
        fail(f"{option} is too long: {value!r}")


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


def echo_page(
    page: CursorPage[_ItemT, Any], describe: Callable[[_ItemT], str], as_json: bool, empty: str
) -> None:
    """Print a listing page: JSON, or one ``describe`` line an item (``empty`` when none).

    The cursor of the next page goes to stderr as ``more: --cursor N``.

    Example:
        >>> from opsml.schemas_approvals import ApprovalPage
        >>> echo_page(ApprovalPage(items=[]), str, False, "nothing matches")

    """
    if as_json:
        typer.echo(page.model_dump_json(indent=2))
        return
    if not page.items:
        typer.echo(empty, err=True)
    for item in page.items:
        typer.echo(describe(item))
    if page.next_cursor is not None:
        typer.echo(f"more: --cursor {page.next_cursor}", err=True)
