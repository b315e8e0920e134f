"""How every command line ends on bad input: one ``error:`` line on stderr and exit code 2.

Library code raises :class:`~mmmixer.errors.InputError` (and its kinds); a command's ``main`` is wrapped in
:func:`reports_input_errors`, which prints that error's one line. Nothing broader is caught: an error nobody
anticipated keeps its traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

from mmmixer.errors import InputError, one_line

Main = TypeVar('Main', bound=Callable)


def usage_error(message: str, prog: str | None = None) -> NoReturn:
    """End a command line on bad input: one ``[prog: ]error:`` line (more only for lists), exit code 2."""
    print(f'{prog}: error: {message}' if prog else f'error: {message}', file=sys.stderr)
    raise SystemExit(2)


def reports_input_errors(main: Main) -> Main:
    """Wrap a command's ``main``: an :class:`~mmmixer.errors.InputError` raised inside becomes :func:`usage_error`."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except InputError as error:
            usage_error(one_line(error))

    return wrapper
