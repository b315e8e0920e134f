"""A COCO-format detection set made of scikit-learn's real digit scans, for the detection demo.

The canvases are :mod:`mmmixer.dataset_writers.digit_canvases`'. Every digit is one instance: its
category is the digit (``'0'`` ... ``'9'``), its mask the stroke pixels (as COCO RLE) and its box the
tight box of that mask, so RetinaNet and Mask R-CNN can both train on it. Each annotation also records
``scan_index``, the scan's index in ``sklearn.datasets.load_digits()``. The validation canvases hold
only the scans that the classification demo held out. Layout (as mmdet's COCO configs expect)::

    out_dir/train/00000.png ...     out_dir/annotations/instances_train.json
    out_dir/val/00000.png ...       out_dir/annotations/instances_val.json
"""

from __future__ import annotations

import json
import os
import os.path as osp

import numpy as np
from PIL import Image

from mmmixer.dataset_writers.digit_canvases import CLASSES, STROKE_THRESHOLD, Canvas, write_canvas_set

__all__ = ['CLASSES', 'STROKE_THRESHOLD', 'category_id', 'prepare_digit_detection']

MARKER = 'digit_detection.json'


def category_id(digit: int) -> int:
    """COCO category id of a digit (ids start at 1, as in COCO)."""
    return digit + 1


def _rle(mask: np.ndarray) -> dict:
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=[int(s) for s in rle['size']], counts=rle['counts'].decode('ascii'))


def _write_split(folder: str, split: str, canvases: list[Canvas]) -> dict[str, int]:
    """Write one split's PNGs and COCO json; return its number of instances."""
    os.makedirs(osp.join(folder, split))
    images, annotations = [], []
    for index, (canvas, instances) in enumerate(canvases):
        file_name = f'{index:05d}.png'
        Image.fromarray(canvas, mode='L').save(osp.join(folder, split, file_name))
        images.append(dict(id=index + 1, file_name=file_name, height=canvas.shape[0], width=canvas.shape[1]))
        for instance in instances:
            x0, y0, x1, y1 = (int(v) for v in instance['bbox'])
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=index + 1,
                    category_id=category_id(instance['digit']),
                    bbox=[x0, y0, x1 - x0, y1 - y0],
                    area=int(instance['mask'].sum()),
                    segmentation=_rle(instance['mask']),
                    iscrowd=0,
                    scan_index=instance['scan_index'],
                )
            )
    categories = [dict(id=category_id(int(name)), name=name) for name in CLASSES]
    os.makedirs(osp.join(folder, 'annotations'), exist_ok=True)
    with open(osp.join(folder, 'annotations', f'instances_{split}.json'), 'w') as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    return {f'num_{split}_instances': len(annotations)}


def prepare_digit_detection(out_dir: str, force: bool = False, **settings) -> dict:
    """Write the canvases to ``out_dir`` (reused if an identical set is already there).

    Args:
        out_dir: Output folder; created, or reused when it holds a set made with the same settings.
        force: Replace a set made with other settings (never a folder this tool did not write).
        **settings: The canvases' settings (:func:`mmmixer.dataset_writers.digit_canvases.canvas_settings`:
            num_train, num_val, canvas_size, digits_per_canvas, digit_sizes, val_fraction, seed).

    Returns the set's description, also stored in ``out_dir/digit_detection.json``.
    """
    return write_canvas_set(out_dir, settings, MARKER, 'digit detection set', CLASSES, _write_split, force)
