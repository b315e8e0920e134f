"""What a file is, from its first bytes: for loaders that refuse the wrong kind of file with a clear message."""

from __future__ import annotations

import re
import zipfile
from typing import IO

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


def read_head(file: IO[bytes]) -> bytes:
    start = file.tell()
    head = file.read(HEAD_SIZE)
    file.seek(start)
    return head


def zip_members(file: IO[bytes]) -> list[str]:
    start = file.tell()
    try:
        with zipfile.ZipFile(file) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return []
    finally:
        file.seek(start)
