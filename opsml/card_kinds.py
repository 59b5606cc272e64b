"""The card kinds, listed once: every other module takes them from here.

Imports nothing heavy, so the command line can name the kinds in its help.

Example:
    >>> REGISTRY_TYPES
    ('data', 'model', 'run', 'pipeline')

"""

from __future__ import annotations

from typing import Literal, get_args

RegistryType = Literal["data", "model", "run", "pipeline"]
"""A card kind, which is also the name of its registry."""

REGISTRY_TYPES: tuple[str, ...] = get_args(RegistryType)
"""The card kinds, in the order people read them."""
