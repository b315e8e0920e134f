"""Safe checkpoint loading: torch's ``weights_only`` unpickler plus an explicit allow-list.

Under torch >= 2.6 plain ``torch.load`` is safe but refuses what a Runner checkpoint holds besides
tensors (mmengine's ``HistoryBuffer``, numpy arrays and scalars in ``message_hub``), so ``--resume``,
``load_from`` and ``tools/test.py`` would break. :func:`load_checkpoint_safely` passes
``weights_only=True`` and allows exactly :data:`SAFE_GLOBALS` and :data:`SAFE_GLOBAL_SUBSTITUTES` (a
``getattr`` restricted to HistoryBuffer's methods, numpy 1.x's names of numpy functions), and it
widens torch's allow-list only while one of these loads runs (:func:`allow_listed`), so code that
calls ``torch.load`` itself sees torch's own defaults.

A pickle that would call anything else (``os.system``, ``eval``, ...) is refused before any of it
runs; a file that is not a checkpoint at all gets an error saying what it looks like.
"""

from __future__ import annotations

import os
import pickle
import re
import struct
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from mmmixer.checkpoint.file_kinds import describe_file_start, is_pickle, is_zip, read_head, zip_members
from mmmixer.errors import InputError

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


# Entries given as (object, name) replace that global name during safe unpickling (torch >= 2.6).
SAFE_GLOBAL_SUBSTITUTES = [
    (_history_buffer_method, 'builtins.getattr'),
    # Checkpoints written under numpy 1.x name the same functions by their old module.
    (np._core.multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
    (np._core.multiarray.scalar, 'numpy.core.multiarray.scalar'),
]


class CheckpointError(InputError, RuntimeError):
    """A checkpoint that cannot be loaded; the message names the file and the problem."""


class UnsafeCheckpointError(CheckpointError):
    """The file's pickle names a global outside the allow-list; nothing in it was run."""


# ----------------------------------------------------------------------------- the allow-list, scoped
# torch keeps one allow-list per process; two of our loads in threads must not remove each other's entries.
_ALLOW_LIST_LOCK = threading.RLock()


@contextmanager
def allow_listed(extra_globals: Sequence = ()) -> Iterator[None]:
    """Inside the block, torch's ``weights_only`` allow-list also has ours (and ``extra_globals``).

    Only entries not on the list already are added, and they are removed on exit: what the user
    allowed stays, and nothing of ours is left behind.
    """
    wanted = [*SAFE_GLOBALS, *SAFE_GLOBAL_SUBSTITUTES, *extra_globals]
    with _ALLOW_LIST_LOCK:
        present = set(torch.serialization.get_safe_globals())
        with torch.serialization.safe_globals([entry for entry in wanted if entry not in present]):
            yield


# ----------------------------------------------------------------------------- loading
def load_checkpoint_safely(
    filename: str | os.PathLike,
    map_location=None,
    file: IO[bytes] | None = None,
    extra_globals: Sequence = (),
    source: str | None = None,
) -> Any:
    """``torch.load(filename, weights_only=True)`` with our allow-list and one clear error per problem.

    ``file``, if given, is an open binary file of ``filename`` to read instead (e.g. with progress).
    ``extra_globals`` widens the allow-list for this load only; ``source`` names the file in errors
    (e.g. the URL it was downloaded from). Raises :class:`UnsafeCheckpointError` when the pickle
    names a global outside the allow-list, :class:`CheckpointError` when the file is not a
    checkpoint or is damaged, :class:`FileNotFoundError` when it does not exist.
    """
    filename = os.path.expanduser(os.fspath(filename))
    name = source or filename
    if file is None:
        if os.path.isdir(filename):
            raise CheckpointError(f'checkpoint {filename} is a directory; name a checkpoint file in it (.pth)')
        if not os.path.isfile(filename):
            raise FileNotFoundError(f'checkpoint {filename} does not exist')
        with open(filename, 'rb') as opened:
            head = _check_looks_like_a_checkpoint(opened, name)
    else:
        head = _check_looks_like_a_checkpoint(file, name)
    try:
        with warnings.catch_warnings(), allow_listed(extra_globals):
            # torch warns about pickle protocols it was not written with before refusing or loading.
            warnings.filterwarnings('ignore', message='Detected pickle protocol', category=UserWarning)
            return torch.load(file or filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        refused = _refused_global(str(error))
        if refused:
            raise UnsafeCheckpointError(
                f'refusing to load {name}: its pickle names {refused}, which is not on the safe allow-list, so it '
                'could run code. Nothing from it was executed. If the file comes from a source you trust, re-save '
                'its tensors as a plain state dict and load that.'
            ) from None
        if 'Unsupported operand' in str(error) and is_pickle(head) and head[1] >= 4:
            # pickle.dump's framed protocols (4, 5), which torch.save never writes by default.
            raise CheckpointError(
                f'refusing to load {name}: it is a plain Python pickle (protocol {head[1]}), not a torch.save '
                "checkpoint, and torch's weights_only loader (with the allow-list) cannot read that format; nothing "
                'from it was executed. Re-save its tensors with torch.save.'
            ) from None
        raise CheckpointError(
            f'{name} is not a readable checkpoint ({_short(error)}); it may be truncated or corrupt'
        ) from None
    except READ_ERRORS as error:
        if not _raised_reading_the_file(error, file):
            raise  # a bug in code that runs during the load (ours or a caller's), not a damaged file
        raise CheckpointError(
            f'{name} is not a readable checkpoint ({_short(error)}); it may be truncated or corrupt'
        ) from None


# What torch's reader raises on a damaged file, found by loading truncated and bit-flipped checkpoints (both
# formats, from files and from memory) and zips with a damaged member: the zip reader (OSError EINVAL seeking past
# the end of a cut file; RuntimeError: no central directory, a short record), seeks and decodes (ValueError,
# UnicodeDecodeError), the unpickler (EOFError; KeyError from its memo, IndexError from its stack, TypeError from a
# call with garbage arguments), the legacy format (struct.error, AssertionError).
READ_ERRORS = (
    OSError,
    EOFError,
    RuntimeError,
    ValueError,
    struct.error,
    KeyError,
    IndexError,
    TypeError,
    AssertionError,
)
_TORCH_PACKAGE = os.path.dirname(torch.__file__) + os.sep


def _raised_reading_the_file(error: BaseException, file: IO[bytes] | None) -> bool:
    """Whether ``error`` was raised by torch's own reader, or by the I/O of the ``file`` it reads (e.g. seeking
    past the end of a cut file through a progress wrapper): then the bytes are at fault. An error raised anywhere
    else (our code, a caller's) is a bug and must not read as a damaged file."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return False
    where = frames[-1].filename
    if where.startswith(_TORCH_PACKAGE):
        return True
    file_module = sys.modules.get(type(file).__module__) if file is not None else None
    return isinstance(error, OSError) and where == getattr(file_module, '__file__', None)


def _check_looks_like_a_checkpoint(file: IO[bytes], name: str) -> bytes:
    """Refuse, by their first bytes, files that torch would misread (text, images, ``.npz`` ...); return them."""
    head = read_head(file)
    if is_pickle(head):
        return head
    if not is_zip(head):
        raise CheckpointError(f'{name} is not a PyTorch checkpoint: it looks like {describe_file_start(head)}')
    members = zip_members(file)
    if members and not any(member.endswith('data.pkl') for member in members):
        kind = 'a NumPy .npz archive' if all(m.endswith('.npy') for m in members) else 'a zip archive'
        raise CheckpointError(
            f'{name} is not a PyTorch checkpoint: it looks like {kind} (members {members[:3]}, no data.pkl)'
        )
    return head


# What torch's weights_only unpickler (and our getattr stand-in) say when a pickle reaches outside the allow-list.
_REFUSAL_PATTERNS = (
    re.compile(r'GLOBAL (\S+) was not an allowed global'),
    re.compile(r'unsupported GLOBAL (\S+) whose module \S+ is blocked'),
    re.compile(r'call reduce for unrecognized function (.+?)(?: which belongs|$)', re.MULTILINE),
    re.compile(r'(getattr\(.*?\)) is not allowed in a checkpoint'),
    re.compile(r'allowlisted via `add_safe_globals`,? but got (.+)$', re.MULTILINE),
)


def _refused_global(message: str) -> str | None:
    for pattern in _REFUSAL_PATTERNS:
        match = pattern.search(message)
        if match:
            return f'the global {match.group(1).strip()}'
    return None


def _short(error: BaseException) -> str:
    text = str(error).strip()
    # torch prefixes unpickler errors with a long explanation; its own line after 'error:' is what helps.
    match = re.search(r'WeightsUnpickler error: (.*)', text)
    if match:
        return match.group(1).strip()
    return text.splitlines()[0] if text else type(error).__name__
