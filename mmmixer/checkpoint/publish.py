"""Publishing a trained checkpoint: keep what inference needs, name it by its hash (mmpretrain's convention)."""

from __future__ import annotations

import hashlib
import os

from mmmixer.checkpoint.safe_load import load_checkpoint_safely
from mmmixer.fileio import save_atomically


def sha256_of(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def add_hash_to_name(path: str | os.PathLike) -> str:
    """Rename ``name.pth`` to ``name-<first 8 hex of sha256>.pth`` (mmpretrain's published names)."""
    path = os.fspath(path)
    stem, ext = os.path.splitext(path)
    final = f'{stem}-{sha256_of(path)[:8]}{ext or ".pth"}'
    os.replace(path, final)
    return final


# Training state that a published (inference) checkpoint does not need.
TRAINING_ONLY_KEYS = ('optimizer', 'param_schedulers', 'message_hub')


def publish_checkpoint(src: str | os.PathLike, dst: str | os.PathLike) -> str:
    """Keep ``meta`` and ``state_dict`` of a training checkpoint; write ``dst-<sha8>.pth``."""
    checkpoint = load_checkpoint_safely(src, map_location='cpu')
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise ValueError(f'{src} has no state_dict: is it an mmengine checkpoint?')
    published = {key: value for key, value in checkpoint.items() if key not in TRAINING_ONLY_KEYS}
    return add_hash_to_name(save_atomically(published, dst))
