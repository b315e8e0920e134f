"""Progress bars for reading and writing large weight files (tqdm, imported when a bar is made)."""

from __future__ import annotations

import io


class ProgressFile(io.RawIOBase):
    """A binary file whose reads and writes advance a tqdm bar."""

    def __init__(self, file, bar):
        self._file, self._bar = file, bar

    def readable(self):
        return self._file.readable()

    def writable(self):
        return self._file.writable()

    def seekable(self):
        return True

    def readinto(self, buffer):
        count = self._file.readinto(buffer)
        self._bar.update(count or 0)
        return count

    def write(self, data):
        count = self._file.write(data)
        self._bar.update(count)
        return count

    def seek(self, offset, whence=io.SEEK_SET):
        return self._file.seek(offset, whence)

    def tell(self):
        return self._file.tell()


def progress_bar(description: str, total: int | None, enabled: bool):
    """A tqdm bar counting bytes; a silent one when not ``enabled``."""
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit='B', unit_scale=True, unit_divisor=1024, disable=not enabled)
