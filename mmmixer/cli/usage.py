"""How every command line ends on bad input."""

from __future__ import annotations

import sys
from typing import NoReturn


def usage_error(message: str, prog: str | None = None) -> NoReturn:
    """End a command line on bad input: one ``[prog: ]error:`` line (more only for lists), exit code 2."""
    print(f'{prog}: error: {message}' if prog else f'error: {message}', file=sys.stderr)
    raise SystemExit(2)
