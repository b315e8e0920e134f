"""Safe checkpoint loading: torch's ``weights_only`` unpickler plus an explicit allow-list.

mmengine 0.10 loads checkpoints with plain ``torch.load`` (local files, ``s3://``, ``pavi://``) or
``torch.hub``'s ``load_state_dict_from_url(..., weights_only=False)`` (``http(s)://``,
``torchvision://``, ``open-mmlab://``, ``mmcls://``): a downloaded pickle could run any code. Under
torch >= 2.6 plain ``torch.load`` is safe but refuses what a Runner checkpoint holds besides tensors
(mmengine's ``HistoryBuffer``, numpy arrays and scalars in ``message_hub``), so ``--resume``,
``load_from`` and ``tools/test.py`` would break. Importing mmmixer therefore

* replaces the loader of every scheme mmengine registers (:data:`SAFE_SCHEME_LOADERS`): each one
  fetches the file as mmengine does (downloads into torch.hub's cache) and loads it with
  :func:`load_checkpoint_safely`, which passes ``weights_only=True`` and allows exactly
  :data:`SAFE_GLOBALS` and :data:`SAFE_GLOBAL_SUBSTITUTES` (a ``getattr`` restricted to
  HistoryBuffer's methods, numpy 1.x's names of numpy functions);
* widens torch's allow-list only while one of these loads runs (:func:`allow_listed`), so code that
  calls ``torch.load`` itself sees torch's own defaults.

A pickle that would call anything else (``os.system``, ``eval``, ...) is refused before any of it
runs; a file that is not a checkpoint at all gets an error saying what it looks like.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import re
import struct
import sys
import threading
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from tempfile import TemporaryDirectory
from typing import IO, Any
from urllib.parse import urlparse

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


# Entries given as (object, name) replace that global name during safe unpickling (torch >= 2.6).
SAFE_GLOBAL_SUBSTITUTES = [
    (_history_buffer_method, 'builtins.getattr'),
    # Checkpoints written under numpy 1.x name the same functions by their old module.
    (np._core.multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
    (np._core.multiarray.scalar, 'numpy.core.multiarray.scalar'),
]


class CheckpointError(RuntimeError):
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


# ----------------------------------------------------------------------------- what a file is
_SIGNATURES = (
    (b'\xff\xd8\xff', 'a JPEG image'),
    (b'\x89PNG', 'a PNG image'),
    (b'GIF8', 'a GIF image'),
    (b'\x93NUMPY', 'a single NumPy array (.npy)'),
    (b'\x89HDF', 'an HDF5 file (Keras / h5py)'),
    (b'\x1f\x8b', 'a gzip file'),
    (b'%PDF', 'a PDF document'),
    (b'PK\x03\x04', 'a zip archive'),
    (b'PK\x05\x06', 'an empty zip archive'),
)
HEAD_SIZE = 64


def describe_file_start(head: bytes) -> str:
    """What a file looks like from its first bytes, for error messages ('JSON text', 'a JPEG image', ...)."""
    if not head:
        return 'an empty file'
    for signature, description in _SIGNATURES:
        if head.startswith(signature):
            return description
    if is_pickle(head):
        return 'a Python pickle'
    if len(head) > 9 and head[8:10] == b'{"':  # 8-byte little-endian header size, then a JSON header
        return 'a .safetensors file'
    try:
        text = head.decode('utf-8')
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:  # not just a character cut off at the end of the head
            return 'binary data of an unknown format'
        text = head[: error.start].decode('utf-8')
    if any(ch < ' ' and ch not in '\t\r\n' for ch in text):
        return 'binary data of an unknown format'
    stripped = text.lstrip()
    if stripped.startswith(('{', '[')):
        return 'JSON text'
    if stripped.startswith('---') or re.match(r'[\w.-]+:(\s|$)', stripped):
        return 'YAML text'
    return 'text'


def is_pickle(head: bytes) -> bool:
    """Pickle protocol 2 to 5, as ``torch.save``'s legacy format and ``pickle.dump`` write."""
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def is_zip(head: bytes) -> bool:
    return head.startswith((b'PK\x03\x04', b'PK\x05\x06'))


def _read_head(file: IO[bytes]) -> bytes:
    start = file.tell()
    head = file.read(HEAD_SIZE)
    file.seek(start)
    return head


def _zip_members(file: IO[bytes]) -> list[str]:
    start = file.tell()
    try:
        with zipfile.ZipFile(file) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return []
    finally:
        file.seek(start)


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
    # Damaged files fail in many places (zip reader, unpickler memo, storage sizes): each means the same.
    except (EOFError, RuntimeError, OSError, ValueError, KeyError, IndexError, TypeError, struct.error) as error:
        raise CheckpointError(
            f'{name} is not a readable checkpoint ({_short(error)}); it may be truncated or corrupt'
        ) from None


def _check_looks_like_a_checkpoint(file: IO[bytes], name: str) -> bytes:
    """Refuse, by their first bytes, files that torch would misread (text, images, ``.npz`` ...); return them."""
    head = _read_head(file)
    if is_pickle(head):
        return head
    if not is_zip(head):
        raise CheckpointError(f'{name} is not a PyTorch checkpoint: it looks like {describe_file_start(head)}')
    members = _zip_members(file)
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


# ----------------------------------------------------------------------------- mmengine's schemes, made safe
def load_from_local_safely(filename: str, map_location=None):
    """Local paths (mmengine's log names each loader after the text past ``load_from_``)."""
    return load_checkpoint_safely(filename, map_location)


def download_to_hub_cache(url: str, model_dir: str | None = None, progress: bool = True) -> str:
    """Download ``url`` into ``<torch hub dir>/checkpoints`` unless it is there already (as mmengine and
    ``torch.hub.load_state_dict_from_url`` do), and return the path. Loading is left to the caller."""
    model_dir = model_dir or os.path.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    basename = os.path.basename(urlparse(url).path)
    if not basename:
        raise CheckpointError(f'{url} names no file to download')
    cached = os.path.join(model_dir, basename)
    if not os.path.exists(cached):
        sys.stderr.write(f'Downloading: "{url}" to {cached}\n')
        try:
            # Writes a temporary file and renames it: an interrupted download leaves nothing cached.
            torch.hub.download_url_to_file(url, cached, progress=progress)
        except OSError as error:  # urllib's URLError / HTTPError included
            raise CheckpointError(f'cannot download {url}: {error}') from None
    return cached


def load_from_http_safely(url: str, map_location=None, model_dir: str | None = None, progress: bool = os.isatty(0)):
    """``http://`` and ``https://``: download, then load safely."""
    from mmengine.dist import get_dist_info

    rank, world_size = get_dist_info()
    # As mmengine: rank 0 downloads while the others wait, then they find the file in the cache.
    if rank == 0:
        path = download_to_hub_cache(url, model_dir, progress)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            path = download_to_hub_cache(url, model_dir, progress)
    return load_checkpoint_safely(path, map_location, source=f'{path} (downloaded from {url})')


def _name_after_scheme(filename: str) -> str:
    return filename.split('://', 1)[1]


def _lookup(table: dict, name: str, filename: str) -> str:
    if name not in table:
        examples = ', '.join(sorted(table)[:3])
        raise CheckpointError(f'{filename}: no checkpoint is registered under {name!r} (known names: {examples}, ...)')
    return table[name]


def load_from_torchvision_safely(filename: str, map_location=None):
    """``torchvision://NAME`` (and the old ``modelzoo://NAME``): the URL torchvision registers for NAME."""
    from mmengine.runner.checkpoint import get_torchvision_models

    url = _lookup(get_torchvision_models(), _name_after_scheme(filename), filename)
    return load_from_http_safely(url, map_location)


def load_from_openmmlab_safely(filename: str, map_location=None):
    """``open-mmlab://NAME``: a URL or a file under mmengine's home, from mmengine's tables."""
    from mmengine.runner.checkpoint import _get_mmengine_home, get_deprecated_model_names, get_external_models

    name = _name_after_scheme(filename)
    name = get_deprecated_model_names().get(name, name)
    location = _lookup(get_external_models(), name, filename)
    if location.startswith(('http://', 'https://')):
        return load_from_http_safely(location, map_location)
    return load_checkpoint_safely(os.path.join(_get_mmengine_home(), location), map_location)


def load_from_mmcls_safely(filename: str, map_location=None):
    """``mmcls://NAME``: an MMClassification checkpoint, keeping its backbone as mmengine does."""
    from mmengine.runner.checkpoint import _process_mmcls_checkpoint, get_mmcls_models

    url = _lookup(get_mmcls_models(), _name_after_scheme(filename), filename)
    return _process_mmcls_checkpoint(load_from_http_safely(url, map_location))


def load_from_pavi_safely(filename: str, map_location=None):
    """``pavi://PATH``: download from PAVI's model cloud into a temporary folder, then load safely."""
    try:
        from pavi import modelcloud
    except ImportError:
        raise ImportError(f'{filename}: install pavi to load checkpoints from its model cloud') from None
    model = modelcloud.get(_name_after_scheme(filename))
    with TemporaryDirectory() as folder:
        path = os.path.join(folder, model.name)
        model.download(path)
        return load_checkpoint_safely(path, map_location, source=filename)


def load_from_ceph_safely(filename: str, map_location=None, backend: str = 'petrel'):
    """``s3://`` / ``petrel://``: read the bytes through mmengine's file backend, then load safely."""
    from mmengine.fileio import get_file_backend

    data = get_file_backend(filename, backend_args={'backend': backend}).get(filename)
    with io.BytesIO(data) as buffer:
        return load_checkpoint_safely(filename, map_location, file=buffer)


# Every prefix mmengine 0.10 registers, with its safe replacement (the regexes are mmengine's own keys).
SAFE_SCHEME_LOADERS = {
    '': load_from_local_safely,
    'http://': load_from_http_safely,
    'https://': load_from_http_safely,
    'pavi://': load_from_pavi_safely,
    r'(\S+\:)?s3://': load_from_ceph_safely,
    r'(\S+\:)?petrel://': load_from_ceph_safely,
    'modelzoo://': load_from_torchvision_safely,
    'torchvision://': load_from_torchvision_safely,
    'open-mmlab://': load_from_openmmlab_safely,
    'openmmlab://': load_from_openmmlab_safely,
    'mmcls://': load_from_mmcls_safely,
}


def install() -> None:
    """Make every mmengine checkpoint scheme load safely (``import mmmixer`` calls this)."""
    for prefix, loader in SAFE_SCHEME_LOADERS.items():
        CheckpointLoader.register_scheme(prefixes=prefix, loader=loader, force=True)


# ----------------------------------------------------------------------------- saving
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
