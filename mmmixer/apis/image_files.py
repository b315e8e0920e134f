"""The images a user names: files as given, folders searched for image files; what was left out, and why; every
image decoded (3 channels, 8 bits, BGR) before any model is built, one line for the first that does not decode."""

from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass

import numpy as np

from mmmixer.broken_images.loader import read_image
from mmmixer.errors import BrokenImageError, InputError

# What a folder's image files are called (any file named directly is decoded whatever its name: decoders read the
# content, not the name).
IMAGE_SUFFIXES = (
    '.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.bmp', '.dib', '.ppm', '.pgm', '.pbm', '.pnm',
    '.tif', '.tiff', '.webp', '.gif',
)  # fmt: skip


@dataclass(frozen=True)
class Skipped:
    """A file in a named folder that is not an image, and why it was left out."""

    path: str
    reason: str


def find_images(paths: list[str]) -> tuple[list[str], list[Skipped]]:
    """``(images, skipped)``: files as given; folders searched deeply (sorted) for files with an image suffix, every
    other file in them skipped with its reason. Raises :class:`~mmmixer.errors.InputError` for a path that does not
    exist and a folder that holds no image."""
    images, skipped = [], []
    for path in map(str, paths):
        if osp.isdir(path):
            files = sorted(osp.join(folder, name) for folder, _, names in os.walk(path) for name in names)
            found = [file for file in files if file.lower().endswith(IMAGE_SUFFIXES)]
            if not found:
                raise InputError(
                    f'folder {path} holds no images ({", ".join(IMAGE_SUFFIXES)}); name image files or folders'
                )
            images.extend(found)
            skipped.extend(Skipped(file, not_an_image_reason(file)) for file in sorted(set(files) - set(found)))
        elif osp.exists(path):
            images.append(path)
        else:
            raise InputError(f'image {path} does not exist; give an image file (JPEG, PNG, ...) or a folder of them')
    return images, skipped


def not_an_image_reason(path: str) -> str:
    suffix = osp.splitext(path)[1]
    return f'not an image file (suffix {suffix!r})' if suffix else 'not an image file (no suffix)'


def decode_images(paths: list[str], loader_args: dict | None = None) -> list[np.ndarray]:
    """Every image decoded as the model's test pipeline decodes it (``loader_args``: its loader's ``color_type``,
    ``imdecode_backend``, ``backend_args``); raises :class:`~mmmixer.errors.BrokenImageError` naming the first file
    that does not decode."""
    return [decode_image(path, loader_args) for path in paths]


def decode_image(path: str, loader_args: dict | None = None) -> np.ndarray:
    """One image, as :func:`decode_images` decodes each."""
    image, problem = read_image(path, **(loader_args or {}))
    if problem:
        raise BrokenImageError(f'image {path} {problem}; give an image file (JPEG, PNG, ...)')
    return image
