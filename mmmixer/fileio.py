"""Write output files whole or not at all.

Every file mmmixer writes (checkpoints, converted weights, metrics, benchmark reports, figures) goes
through :func:`write_atomically`: the content is written to a temporary file in the destination's
folder and renamed over the destination only when writing succeeded, so a failure or an interrupt
never leaves a half-written file, and the temporary file is removed whatever happens.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import IO

import torch


def write_atomically(path: str | os.PathLike, write: Callable[[str], None]) -> str:
    """Call ``write(temporary_path)``, then rename the temporary file to ``path``; returns ``path``.

    The temporary file is a hidden name next to ``path`` (a rename within one folder is atomic), and
    it is removed if ``write`` or the rename fails.
    """
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f'.{name}.tmp-{os.getpid()}')
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def check_output_folder(path: str | os.PathLike) -> None:
    """Refuse, before any work, a destination whose folder is missing or not writable."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f'output folder {directory} does not exist; create it first')
    if not os.access(directory, os.W_OK):
        raise PermissionError(f'output folder {directory} is not writable; choose another output path')


def save_atomically(obj, path: str | os.PathLike, wrap: Callable[[IO[bytes]], IO[bytes]] | None = None) -> str:
    """``torch.save(obj)`` to ``path`` through :func:`write_atomically`; returns ``path``.

    ``wrap``, if given, wraps the open temporary file (e.g. to report progress).
    """
    check_output_folder(path)

    def write(tmp: str) -> None:
        with open(tmp, 'wb') as f:
            torch.save(obj, wrap(f) if wrap else f)

    return write_atomically(path, write)


def write_json_atomically(data, path: str | os.PathLike) -> str:
    """``data`` as indented JSON at ``path`` through :func:`write_atomically`; returns ``path``."""

    def write(tmp: str) -> None:
        with open(tmp, 'w') as f:
            json.dump(data, f, indent=2)

    return write_atomically(path, write)
