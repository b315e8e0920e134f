"""Image files that cannot be read, and the image loader that the command lines put in every pipeline.

A large data set nearly always holds a few files that are empty, truncated or not images at all.
mmcv's ``LoadImageFromFile`` meets them wherever the sampler happens to, and stops the run with an
``AssertionError`` inside a DataLoader worker's traceback. :class:`LoadImageChecked` (registered as
``mmmixer.LoadImageChecked``; the command lines use it in place of ``LoadImageFromFile``) loads the
same way with the same arguments, and on such a file either raises :class:`~mmmixer.errors.BrokenImageError`
with one line naming the file, the data set and how to find every such file, or, where training was told
to skip them (``skip_broken_images=True``), returns ``None``, which makes mmengine's ``BaseDataset`` draw
another sample, and records the file for :class:`~mmmixer.broken_images.report.BrokenImageReport` to count.
"""

from __future__ import annotations

import os

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio

from mmmixer.errors import BrokenImageError, ConfigValueError
from mmmixer.images import decode_image, quiet_opencv
from mmmixer.registry import TRANSFORMS

# The file that skipped images are appended to, one "path<TAB>problem" line each; set by the report hook in
# the training process, inherited by its DataLoader workers (forked or spawned).
RECORD_ENV = 'MMMIXER_SKIPPED_IMAGES_FILE'


def read_image(
    path: str, color_type: str = 'color', imdecode_backend: str = 'cv2', backend_args: dict | None = None
) -> tuple[np.ndarray | None, str | None]:
    """``(image, None)``, or ``(None, what is wrong with the file)`` when it cannot be read or decoded.

    With ``color_type='color'`` (the default, and every shipped config's) any image a decoder knows becomes an
    (H, W, 3) uint8 BGR array (:func:`mmmixer.images.decode_image`: transparency, 16 bits, CMYK, EXIF orientation).
    """
    try:
        data = fileio.get(path, backend_args=backend_args)
    except FileNotFoundError:
        return None, 'does not exist'
    except IsADirectoryError:
        return None, 'is a directory, not an image'
    except PermissionError:
        return None, 'cannot be read (permission denied)'
    except OSError as error:
        return None, f'cannot be read ({error.strerror or error})'
    if not data:
        return None, 'is empty (0 bytes)'
    try:
        if color_type == 'color':  # any mode, depth, transparency: 3 channels, 8 bits (mmmixer.images)
            image = decode_image(data, backend=imdecode_backend)
        else:  # what the config asked for (grayscale, unchanged ...), as mmcv decodes it
            with quiet_opencv():
                image = mmcv.imfrombytes(data, flag=color_type, backend=imdecode_backend)
    except Exception as error:  # each decoder (PIL, turbojpeg, tifffile) raises its own types on bad bytes
        return None, f'cannot be decoded ({type(error).__name__}: {error})'
    if image is None or image.size == 0:
        return None, f'is not an image that {imdecode_backend} can decode ({len(data):,} bytes, starting {data[:8]!r})'
    return image, None


def why_unreadable(path: str, **loader_args) -> str | None:
    """What is wrong with the image file ``path`` (``None`` if it decodes), with ``read_image``'s arguments."""
    return read_image(path, **loader_args)[1]


def record_skipped(path: str, problem: str) -> bool:
    """Append a skipped file to the file named by ``$MMMIXER_SKIPPED_IMAGES_FILE``; False where none is set.

    One ``write`` per line on a file opened for appending: lines from several workers never interleave.
    """
    record = os.environ.get(RECORD_ENV)
    if not record:
        return False
    line = f'{path}\t{problem}'.replace('\n', ' ') + '\n'
    fd = os.open(record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode('utf-8', 'replace'))
    finally:
        os.close(fd)
    return True


@TRANSFORMS.register_module()
class LoadImageChecked(LoadImageFromFile):
    """``LoadImageFromFile`` (same arguments, same output) that reports a broken file in one line, or skips it, and
    decodes any mode and depth to 3 channels and 8 bits (:func:`read_image`).

    Args:
        data_set: How error messages name the data set (e.g. ``'train_dataloader (data/imagenet/train)'``).
        find_all: How error messages tell the user to list every broken file (a ``mmmixer check-data`` line).
        skip_broken: Return ``None`` for a broken file (mmengine's ``BaseDataset`` then draws another sample)
            and record it, instead of raising :class:`~mmmixer.errors.BrokenImageError`. Training only: an
            evaluation that skipped a file would report a metric over another data set.
        **kwargs: ``LoadImageFromFile``'s (``color_type``, ``imdecode_backend``, ``backend_args``, ``to_float32`` ...).
    """

    def __init__(self, data_set: str = 'the data set', find_all: str = '', skip_broken: bool = False, **kwargs):
        super().__init__(**kwargs)
        if getattr(self, 'file_client_args', None) is not None:
            raise ConfigValueError(
                'LoadImageFromFile: file_client_args is deprecated (mmcv 2); use backend_args=dict(backend=...) instead'
            )
        self.data_set = data_set
        self.find_all = find_all
        self.skip_broken = bool(skip_broken)
        self._warned = set()

    def transform(self, results: dict) -> dict | None:
        path = results['img_path']
        image, problem = read_image(path, self.color_type, self.imdecode_backend, self.backend_args)
        if problem is not None:
            return self._broken(path, problem)
        if self.to_float32:
            image = image.astype(np.float32)
        results['img'] = image
        results['img_shape'] = image.shape[:2]
        results['ori_shape'] = image.shape[:2]
        return results

    def _broken(self, path: str, problem: str) -> None:
        if not (self.skip_broken or self.ignore_empty):  # a config's ignore_empty=True skipped them before too
            fix = f'list every broken file with `{self.find_all}`, then' if self.find_all else 'then'
            raise BrokenImageError(
                f'broken image in {self.data_set}: {path} {problem}; {fix} delete or replace them '
                '(training can skip them instead: --cfg-options skip_broken_images=True)'
            )
        if not record_skipped(path, problem) and path not in self._warned:
            # Used without the command lines' report hook: say it here, once per file and process.
            from mmengine.logging import print_log

            self._warned.add(path)
            print_log(f'skipping broken image {path}: {problem}', logger='current', level='WARNING')
        return None

    def __repr__(self) -> str:
        return f'{super().__repr__()[:-1]}, skip_broken={self.skip_broken})'
