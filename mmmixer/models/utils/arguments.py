"""The one place that checks the models' constructor arguments: each check returns the value it accepts, or raises
a :class:`~mmmixer.errors.ConfigValueError` (a :class:`~mmmixer.errors.ConfigTypeError` for a wrong type) that
names the argument and what it takes."""

from __future__ import annotations

from collections.abc import Sequence

from mmmixer.errors import ConfigTypeError, ConfigValueError

LARGEST = 2**31 - 1


def whole_number(value, name: str, minimum: int = 1) -> int:
    """``value`` as an int of at least ``minimum`` (an integral float such as ``16.0`` is taken)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ConfigTypeError(f'{name}={value!r} is not a whole number; give an integer >= {minimum}')
    if value < minimum:
        raise ConfigValueError(f'{name}={value} must be at least {minimum}')
    if value > LARGEST:  # torch cannot even describe such a tensor (and no memory holds it)
        raise ConfigValueError(f'{name}={value:g} is too large; give an integer up to {LARGEST:,}')
    return int(value)


def size_pair(value, name: str, minimum: int = 1) -> tuple[int, int]:
    """A size given as one int or an (H, W) pair, each at least ``minimum``, as an (H, W) pair."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 2:
            raise ConfigValueError(f'{name}={value!r} must be an int or a pair of ints (H, W)')
        return whole_number(value[0], name, minimum), whole_number(value[1], name, minimum)
    size = whole_number(value, name, minimum)
    return size, size


def one_of(value, name: str, choices: Sequence):
    """``value``, which must be one of ``choices``."""
    if value not in choices:
        raise ConfigValueError(f'{name}={value!r} is not supported; choose one of {tuple(choices)}')
    return value


def probability(value, name: str, *, one_allowed: bool = True) -> float:
    """A probability in [0, 1] (or [0, 1) when ``one_allowed`` is False: a dropout rate of 1 learns nothing)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigTypeError(f'{name}={value!r} is not a number; use a value in [0, 1]')
    if not (0.0 <= value <= 1.0 if one_allowed else 0.0 <= value < 1.0):
        what, interval = ('probability', '[0, 1]') if one_allowed else ('dropout probability', '[0, 1)')
        raise ConfigValueError(f'{name}={value} is not a {what}; use a value in {interval}')
    return float(value)
