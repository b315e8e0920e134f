"""Safe checkpoint loading: torch's ``weights_only`` unpickler plus an explicit allow-list.

mmengine 0.10 calls ``torch.load`` without ``weights_only``. Under torch >= 2.6 that means safe
loading, which refuses the few non-tensor objects a Runner checkpoint holds (mmengine's
``HistoryBuffer`` and numpy arrays/scalars in ``message_hub``), so ``--resume``, ``load_from`` and
``tools/test.py`` break. Instead of turning safe loading off, importing mmmixer

* allows exactly those types (:data:`SAFE_GLOBALS`, plus a ``getattr`` restricted to
  HistoryBuffer's methods), and
* routes mmengine's loader for local files through :func:`load_checkpoint_safely`, which always
  passes ``weights_only=True`` (also on older torch) and turns a refusal into a clear error.

A pickle that would call anything else (``os.system``, ``eval``, ...) is refused before any of it
runs. Nothing here changes how torch loads files for code that does not go through mmengine.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import warnings

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader

# What mmengine Runner checkpoints contain besides tensors and plain containers.
SAFE_GLOBALS = [
    HistoryBuffer,
    np.ndarray,
    np.dtype,
    np._core.multiarray._reconstruct,
    np._core.multiarray.scalar,
    # numpy >= 1.25 pickles dtypes by their class (numpy.dtypes.Float64DType, ...).
    *(getattr(np.dtypes, name) for name in dir(np.dtypes) if name.endswith('DType')),
]


def _history_buffer_method(owner, name: str):
    """Stands in for ``getattr`` while unpickling, for exactly one use.

    A HistoryBuffer pickles its statistics methods (``HistoryBuffer.min`` ...) as
    ``getattr(HistoryBuffer, 'min')``. Allowing the real ``getattr`` would let a crafted file reach
    any attribute of any allowed object; this one only returns HistoryBuffer's own methods.
    """
    method = HistoryBuffer.__dict__.get(name) if owner is HistoryBuffer else None
    if not callable(method) or name.startswith('_'):
        raise pickle.UnpicklingError(f'getattr({owner!r}, {name!r}) is not allowed in a checkpoint')
    return method


# Entries given as (object, name) replace that global name during safe unpickling.
SAFE_GLOBAL_SUBSTITUTES = [(_history_buffer_method, 'builtins.getattr')]


class UnsafeCheckpointError(RuntimeError):
    """The file holds objects that safe loading does not allow; nothing in it was run."""


def register_safe_globals() -> None:
    """Add :data:`SAFE_GLOBALS` to torch's ``weights_only`` allow-list (idempotent)."""
    torch.serialization.add_safe_globals([*SAFE_GLOBALS, *SAFE_GLOBAL_SUBSTITUTES])


def load_checkpoint_safely(filename: str | os.PathLike, map_location=None, file=None):
    """``torch.load(filename, weights_only=True)`` with a clear error for refused or broken files.

    ``file``, if given, is an open binary file of ``filename`` to read instead (e.g. with progress).
    """
    filename = os.path.expanduser(os.fspath(filename))
    if file is None and not os.path.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols it was not written with before refusing or loading.
            warnings.filterwarnings('ignore', message='Detected pickle protocol', category=UserWarning)
            return torch.load(file or filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError(
            f'refusing to load {filename}: it holds Python objects outside the safe allow-list, so its '
            f'pickle could run code ({_first_line(error)}). Nothing from it was executed. If the file comes '
            'from a source you trust, re-save its tensors as a plain state dict and load that.'
        ) from None
    except (EOFError, RuntimeError, OSError, ValueError) as error:
        raise RuntimeError(
            f'{filename} is not a readable checkpoint ({_first_line(error)}); it may be truncated or corrupt.'
        ) from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    # torch's message starts with a long preamble; the line naming the offending global is what helps.
    for line in text.splitlines():
        if 'GLOBAL' in line or 'Unsupported' in line:
            return line.strip()
    return text.splitlines()[0] if text else type(error).__name__


def load_from_local_safely(filename, map_location=None):
    """mmengine's loader for local paths (its log names it after the text past ``load_from_``)."""
    return load_checkpoint_safely(filename, map_location)


def install() -> None:
    """Register the allow-list and make mmengine's local-file loader use safe loading."""
    register_safe_globals()
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_from_local_safely)


def save_atomically(obj, path: str | os.PathLike, wrap=None) -> str:
    """``torch.save`` to a temporary file next to ``path``, then rename: never a half-written file.

    ``wrap``, if given, wraps the open temporary file (e.g. to report progress).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f'output folder {directory} does not exist; create it first')
    if not os.access(directory, os.W_OK):
        raise PermissionError(f'output folder {directory} is not writable; choose another output path')
    tmp = os.path.join(directory, f'.{os.path.basename(path)}.tmp-{os.getpid()}')
    try:
        with open(tmp, 'wb') as f:
            torch.save(obj, wrap(f) if wrap else f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


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
