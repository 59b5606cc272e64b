"""Debian's chromium driven by Playwright (its own browser download cannot work here)."""

from __future__ import annotations

import os

import pytest

from opsml_testing.chromium import CHROMIUM as CHROMIUM
from opsml_testing.chromium import CHROMIUM_ARGS as CHROMIUM_ARGS


def require_chromium() -> None:
    """Fail in CI, skip elsewhere, when the browser or Playwright is missing."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is missing (dev extra)"
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser tests must run in CI: {missing}")
    pytest.skip(missing)
