"""Publishing a trained checkpoint: keep what inference needs, name it by its hash (mmpretrain's convention)."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable

import torch

from mmmixer.checkpoint.safe_load import load_checkpoint_safely
from mmmixer.errors import InputError
from mmmixer.fileio import check_new_output, check_output_folder, write_atomically


class NotATrainingCheckpointError(InputError, ValueError):
    """A file to publish that is not an mmengine checkpoint (no ``state_dict``)."""


def sha256_of(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def hashed_name(path: str | os.PathLike, sha256: str) -> str:
    """``name.pth`` -> ``name-<first 8 hex of sha256>.pth`` (mmpretrain's published names)."""
    stem, ext = os.path.splitext(os.fspath(path))
    return f'{stem}-{sha256[:8]}{ext or ".pth"}'


def add_hash_to_name(path: str | os.PathLike) -> str:
    """Rename ``name.pth`` to ``name-<first 8 hex of sha256>.pth``; returns the new name."""
    final = hashed_name(path, sha256_of(path))
    os.replace(path, final)
    return final


# Training state that a published (inference) checkpoint does not need.
TRAINING_ONLY_KEYS = ('optimizer', 'param_schedulers', 'message_hub')


def publish_checkpoint(
    src: str | os.PathLike, dst: str | os.PathLike, *, keys: Iterable[str] | None = None, force: bool = False
) -> str:
    """Write ``src``'s ``meta`` and ``state_dict`` (or the top-level ``keys`` given) as ``dst-<sha8>.pth``; returns
    that name.

    The file appears whole under its final name or not at all (the hash is taken of the bytes before they are
    written), so ``dst`` may also be ``src`` itself. An existing file of that name is overwritten only with
    ``force``. Raises :class:`NotATrainingCheckpointError` for a file without ``state_dict``.
    """
    check_output_folder(dst)
    checkpoint = load_checkpoint_safely(src, map_location='cpu')
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise NotATrainingCheckpointError(f'{src} has no state_dict: is it an mmengine checkpoint?')
    kept = (lambda key: key in keys) if keys is not None else (lambda key: key not in TRAINING_ONLY_KEYS)
    published = {key: value for key, value in checkpoint.items() if kept(key)}
    buffer = io.BytesIO()
    torch.save(published, buffer)
    data = buffer.getvalue()
    final = hashed_name(dst, hashlib.sha256(data).hexdigest())
    check_new_output(final, force)

    def write(tmp: str) -> None:
        with open(tmp, 'wb') as f:
            f.write(data)

    return write_atomically(final, write)
