"""The converters' error, and how its messages list keys."""

from __future__ import annotations

from collections.abc import Iterable

from mmmixer.errors import InputError


class ConversionError(InputError, ValueError):
    """Bad input for a conversion; the message names the problem and the fix."""


def list_keys(keys: Iterable[str], limit: int = 4) -> str:
    """``a, b, c, d (+N more)``: the first ``limit`` keys, sorted, for an error message."""
    keys = sorted(keys)
    return ', '.join(keys[:limit]) + (f' (+{len(keys) - limit} more)' if len(keys) > limit else '')
