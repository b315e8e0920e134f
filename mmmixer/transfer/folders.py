"""A folder of class sub-folders (``DIR/<class>/<image>``), the layout mmpretrain's ``CustomDataset`` reads: its
classes and how many images each holds, checked before anything is trained or extracted."""

from __future__ import annotations

import os
import os.path as osp
from typing import NamedTuple

from mmmixer.errors import InputError

# The file endings mmpretrain's CustomDataset accepts by default (mmpretrain/datasets/custom.py).
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif')


class ClassFolders(NamedTuple):
    root: str
    classes: list[str]  # sorted, as CustomDataset orders them
    counts: list[int]  # images per class

    @property
    def num_images(self) -> int:
        return sum(self.counts)


def _count_images(folder: str) -> int:
    """The images ``CustomDataset`` reads in ``folder``: any depth, hidden files skipped (as mmengine lists them)."""
    return sum(
        name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith('.')
        for _, _, names in os.walk(folder, followlinks=True)
        for name in names
    )


def read_class_folders(root: str, what: str = 'the image folder') -> ClassFolders:
    """The classes of ``root``; an :class:`InputError` for a missing folder, fewer than 2 classes or an empty class."""
    if not osp.isdir(root):
        raise InputError(f'{what} {root} is not a folder; pass a folder with one sub-folder of images per class')
    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    hidden = [name for name in classes if name.startswith('.')]
    if hidden:  # CustomDataset would take it for a class: every label after it would shift
        raise InputError(
            f"{what} {root} holds the hidden folder {hidden[0]}, which mmpretrain's CustomDataset would read as a "
            'class; move it out of the folder'
        )
    counts = [_count_images(osp.join(root, name)) for name in classes]
    if len(classes) < 2:
        found = f'only the class {classes[0]!r}' if classes else 'no class sub-folder'
        raise InputError(
            f'{what} {root} has {found}; a classifier needs at least 2 classes: one sub-folder of images per class '
            f'({root}/<class>/<image>)'
        )
    empty = [name for name, count in zip(classes, counts, strict=True) if count == 0]
    if empty:
        raise InputError(
            f'{what} {root}: class folder(s) {", ".join(empty[:5])} hold no image ({", ".join(IMAGE_EXTENSIONS)}); '
            'add images or remove the folder'
        )
    return ClassFolders(root, classes, counts)


def check_same_classes(train: ClassFolders, other: ClassFolders, what: str) -> None:
    """``other`` (a validation or test folder) must have exactly the training folder's classes."""
    if other.classes == train.classes:
        return
    missing = sorted(set(train.classes) - set(other.classes))
    extra = sorted(set(other.classes) - set(train.classes))
    parts = ([f'lacks {", ".join(missing[:5])}'] if missing else []) + (
        [f'has {", ".join(extra[:5])} that the training folder lacks'] if extra else []
    )
    raise InputError(
        f'{what} {other.root} does not have the classes of the training folder {train.root}: it '
        f'{" and ".join(parts)}; give both folders the same class sub-folders'
    )
