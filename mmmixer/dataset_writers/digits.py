"""scikit-learn's handwritten digits as an ImageNet-style folder tree, for the demo and tests.

The 1,797 real 8x8 scans (UCI "Optical Recognition of Handwritten Digits") ship inside
scikit-learn, so the demo needs no download. Each image is stretched from 0-16 to 0-255 and
upscaled with bicubic interpolation, then written as ``{train,val}/<digit>/<index>.png``:
the layout mmpretrain's ``CustomDataset`` reads with ``data_prefix='train'``.

The pieces (loading the scans, the held-out split, upscaling) are also used by
:mod:`mmmixer.dataset_writers.digit_detection`; both write their folder through
:func:`mmmixer.fileio.write_folder_once` (whole or not at all).
"""

from __future__ import annotations

import os
import os.path as osp

import numpy as np
from PIL import Image

from mmmixer.fileio import write_folder_once

MARKER = 'digits_split.json'


def load_digit_scans() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 scans as uint8 images (N, 8, 8), 0-255 with bright strokes, and their labels (N,)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return np.round(digits.images * (255 / 16)).astype(np.uint8), digits.target


def held_out_mask(labels: np.ndarray, val_fraction: float, seed: int) -> np.ndarray:
    """Which scans are held out: ``val_fraction`` of each class, fixed by ``seed``."""
    if not 0 < val_fraction < 1:
        raise ValueError(f'val_fraction={val_fraction} must be between 0 and 1 (both splits need scans), e.g. 0.2')
    rng = np.random.default_rng(seed)
    is_val = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        is_val[members[: round(len(members) * val_fraction)]] = True
    return is_val


def upscale(scan: np.ndarray, size: int) -> Image.Image:
    """A uint8 scan as a greyscale ``size`` x ``size`` image (bicubic)."""
    return Image.fromarray(scan, mode='L').resize((size, size), Image.BICUBIC)


def prepare_digits(
    out_dir: str, image_size: int = 32, val_fraction: float = 0.2, seed: int = 0, force: bool = False
) -> dict:
    """Write the split to ``out_dir`` (reused if an identical split is already there).

    The split is stratified and fixed by ``seed``. Returns the split's description, which is also
    stored in ``out_dir/digits_split.json``. An existing ``out_dir`` that this function did not
    write is left untouched and reported; a split made with other settings is replaced only with ``force``.
    """
    settings = dict(image_size=image_size, val_fraction=val_fraction, seed=seed)

    def write(folder: str) -> dict:
        scans, labels = load_digit_scans()
        is_val = held_out_mask(labels, val_fraction, seed)
        for index, (scan, label) in enumerate(zip(scans, labels, strict=True)):
            class_folder = osp.join(folder, 'val' if is_val[index] else 'train', str(label))
            os.makedirs(class_folder, exist_ok=True)
            upscale(scan, image_size).save(osp.join(class_folder, f'{index:04d}.png'))
        return dict(num_train=int((~is_val).sum()), num_val=int(is_val.sum()), classes=list(range(10)))

    return write_folder_once(out_dir, settings, MARKER, 'digits split', write, force)
