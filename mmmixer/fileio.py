"""Write output files and folders whole or not at all.

Every file mmmixer writes (checkpoints, converted weights, metrics, benchmark reports, figures) goes
through :func:`write_atomically`: the content is written to a temporary file in the destination's
folder and renamed over the destination only when writing succeeded, so a failure or an interrupt
never leaves a half-written file, and the temporary file is removed whatever happens. Folders (the
dataset writers' output) go through :func:`write_folder_once` the same way: a staging folder renamed
into place when complete.

Nothing a user named on a command line is overwritten unless they pass ``--force``: every command checks its
output paths with :func:`check_new_output` (files) or hands ``force`` to :func:`write_folder_once` (folders)
before doing any work. What a command writes inside its own work dir is its own to refresh.
"""

from __future__ import annotations

import json
import os
import os.path as osp
import shutil
import tempfile
from collections.abc import Callable
from typing import IO

import torch

from mmmixer.errors import OutputExistsError, OutputPathError


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


def check_new_output(path: str | os.PathLike, force: bool, flag: str = '', folder_created: bool = False) -> None:
    """Refuse, before any work, an output file the user named that exists (unless ``force``: ``--force``), that is
    a folder, or whose folder is missing (unless the command creates it: ``folder_created``) or not writable.
    ``flag`` (``'--out'``) names the argument in the message.

    Raises :class:`~mmmixer.errors.OutputExistsError` / :class:`~mmmixer.errors.OutputPathError` (one line each).
    """
    path = os.fspath(path)
    named = f'{flag} {path}' if flag else path
    if os.path.isdir(path):
        example = os.path.join(path, 'NAME')
        raise OutputPathError(f'{named} is a folder; name a file (such as {example}) for the output')
    if os.path.lexists(path) and not force:
        raise OutputExistsError(f'{named} exists; pass --force to overwrite it, or choose another name')
    if folder_created and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        return
    try:
        check_output_folder(path)
    except OSError as error:
        raise OutputPathError(str(error)) from None  # names the folder


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


def write_folder_once(
    out_dir: str, settings: dict, marker: str, kind: str, write: Callable[[str], dict], force: bool = False
) -> dict:
    """Have ``write(folder)`` fill ``out_dir`` once; reuse it when it already holds the same ``settings``.

    ``write`` gets an empty staging folder next to ``out_dir`` and returns a description of what it
    wrote; that description (with ``settings``) is stored as ``out_dir/marker`` and returned. The
    staging folder is renamed into place only when complete, so ``out_dir`` is never half-written.
    A ``kind`` (named in errors) written with other settings is replaced only with ``force`` (``--force``), once the
    new one is complete; an ``out_dir`` that was not written with ``marker`` is never touched. Raises
    :class:`~mmmixer.errors.OutputExistsError`.
    """
    marker_path = osp.join(out_dir, marker)
    replace = False
    if osp.isfile(marker_path):
        with open(marker_path) as f:
            existing = json.load(f)
        if {k: existing.get(k) for k in settings} == settings:
            return existing
        if not force:
            raise OutputExistsError(
                f'{out_dir} holds a {kind} made with other settings; pass --force to replace it, or pick another dir'
            )
        replace = True
    elif osp.exists(out_dir) and os.listdir(out_dir):
        raise OutputExistsError(f'{out_dir} exists and is not a {kind} written by this tool; choose an empty dir')

    parent = osp.dirname(osp.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f'.{osp.basename(osp.abspath(out_dir))}-', dir=parent)
    try:
        info = dict(settings, **write(staging))
        with open(osp.join(staging, marker), 'w') as f:
            json.dump(info, f, indent=2)
        if replace:  # the old set leaves only once the new one is whole
            old = tempfile.mkdtemp(prefix=f'.{osp.basename(osp.abspath(out_dir))}-old-', dir=parent)
            os.replace(out_dir, old)
            os.replace(staging, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            if osp.isdir(out_dir):
                os.rmdir(out_dir)  # empty, checked above
            os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return info
