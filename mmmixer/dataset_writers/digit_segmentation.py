"""A semantic segmentation set made of scikit-learn's real digit scans, for the segmentation demo.

The canvases are the detection set's (:mod:`mmmixer.dataset_writers.digit_canvases`, same settings,
same pixels); each gets a label map: 0 for the background, ``digit + 1`` on the digit's stroke pixels.
The validation canvases hold only the scans that the classification demo held out. Layout (as
mmsegmentation's ``BaseSegDataset`` configs expect, images and label maps with the same names)::

    out_dir/img_dir/train/00000.png ...     out_dir/ann_dir/train/00000.png ...
    out_dir/img_dir/val/00000.png ...       out_dir/ann_dir/val/00000.png ...
"""

from __future__ import annotations

import os
import os.path as osp

import numpy as np
from PIL import Image

from mmmixer.dataset_writers.digit_canvases import CLASSES as DIGITS
from mmmixer.dataset_writers.digit_canvases import Canvas, write_canvas_set

MARKER = 'digit_segmentation.json'
CLASSES = ('background', *DIGITS)


def label_map(canvas: Canvas) -> np.ndarray:
    """The canvas's per-pixel class indices into :data:`CLASSES` (uint8)."""
    image, instances = canvas
    labels = np.zeros(image.shape, dtype=np.uint8)
    for instance in instances:
        labels[instance['mask']] = CLASSES.index(str(instance['digit']))
    return labels


def _write_split(folder: str, split: str, canvases: list[Canvas]) -> dict[str, dict[str, int]]:
    """Write one split's images and label maps; return its pixel count per class."""
    for kind in ('img_dir', 'ann_dir'):
        os.makedirs(osp.join(folder, kind, split))
    pixels = np.zeros(len(CLASSES), dtype=np.int64)
    for index, canvas in enumerate(canvases):
        labels = label_map(canvas)
        pixels += np.bincount(labels.ravel(), minlength=len(CLASSES))
        Image.fromarray(canvas[0], mode='L').save(osp.join(folder, 'img_dir', split, f'{index:05d}.png'))
        Image.fromarray(labels, mode='L').save(osp.join(folder, 'ann_dir', split, f'{index:05d}.png'))
    return {f'{split}_pixels_per_class': dict(zip(CLASSES, pixels.tolist(), strict=True))}


def prepare_digit_segmentation(out_dir: str, force: bool = False, **settings) -> dict:
    """Write the canvases and their label maps to ``out_dir`` (reused if an identical set is already there).

    Args:
        out_dir: Output folder; created, or reused when it holds a set made with the same settings.
        force: Replace a set made with other settings (never a folder this tool did not write).
        **settings: The canvases' settings (:func:`mmmixer.dataset_writers.digit_canvases.canvas_settings`:
            num_train, num_val, canvas_size, digits_per_canvas, digit_sizes, val_fraction, seed).

    Returns the set's description (with the pixels per class of each split), also stored in
    ``out_dir/digit_segmentation.json``.
    """
    return write_canvas_set(out_dir, settings, MARKER, 'digit segmentation set', CLASSES, _write_split, force)
