"""A COCO-format detection set made of scikit-learn's real digit scans, for the detection demo.

Each canvas is a black greyscale image with a few digits pasted at random positions and sizes,
never overlapping. Every digit is one instance: its category is the digit (``'0'`` ... ``'9'``),
its mask is the stroke pixels (the upscaled scan at >= :data:`STROKE_THRESHOLD`, as COCO RLE) and
its box the tight box of that mask, so RetinaNet and Mask R-CNN can both train on it. Each annotation
also records ``scan_index``, the scan's index in ``sklearn.datasets.load_digits()``.

The validation canvases are made only of the scans that the classification demo holds out
(:func:`mmmixer.dataset_writers.digits.held_out_mask` with the same ``val_fraction`` and ``seed``), so a
detector fine-tuned from the ``make demo`` checkpoint is evaluated on digits that neither the
classifier nor the detector has seen. Layout (as mmdet's COCO configs expect)::

    out_dir/train/00000.png ...     out_dir/annotations/instances_train.json
    out_dir/val/00000.png ...       out_dir/annotations/instances_val.json
"""

from __future__ import annotations

import json
import os
import os.path as osp

import numpy as np
from PIL import Image

from mmmixer.dataset_writers.digits import held_out_mask, load_digit_scans, upscale
from mmmixer.fileio import write_folder_once

MARKER = 'digit_detection.json'
CLASSES = tuple(str(digit) for digit in range(10))
# An upscaled scan's pixel belongs to a stroke from this grey level on (0-255).
STROKE_THRESHOLD = 128
# Digits keep this many pixels between their boxes.
MIN_GAP = 2
PLACEMENT_TRIES = 50


def category_id(digit: int) -> int:
    """COCO category id of a digit (ids start at 1, as in COCO)."""
    return digit + 1


def _rle(mask: np.ndarray) -> dict:
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=[int(s) for s in rle['size']], counts=rle['counts'].decode('ascii'))


def _overlaps(box: tuple[int, int, int, int], boxes: list[tuple[int, int, int, int]]) -> bool:
    x0, y0, x1, y1 = box
    return any(
        x0 < other[2] + MIN_GAP and other[0] < x1 + MIN_GAP and y0 < other[3] + MIN_GAP and other[1] < y1 + MIN_GAP
        for other in boxes
    )


def _canvas(
    rng: np.random.Generator,
    scans: np.ndarray,
    labels: np.ndarray,
    scan_indices: np.ndarray,
    canvas_size: int,
    digits_per_canvas: tuple[int, int],
    digit_sizes: tuple[int, int],
) -> tuple[np.ndarray, list[dict]]:
    """One canvas and its instances: ``bbox`` (pixel corners x0, y0, x1, y1, the last two exclusive), ``mask``,
    ``digit`` and ``scan_index`` (into the full set of scans, of which ``scan_indices`` are allowed)."""
    canvas = np.zeros((canvas_size, canvas_size), dtype=np.uint8)
    instances, boxes = [], []
    for _ in range(rng.integers(digits_per_canvas[0], digits_per_canvas[1] + 1)):
        which = int(rng.choice(scan_indices))
        size = int(rng.integers(digit_sizes[0], digit_sizes[1] + 1))
        digit = np.asarray(upscale(scans[which], size))
        strokes = digit >= STROKE_THRESHOLD
        rows, cols = np.flatnonzero(strokes.any(1)), np.flatnonzero(strokes.any(0))
        for _ in range(PLACEMENT_TRIES):
            top, left = (int(v) for v in rng.integers(0, canvas_size - size + 1, size=2))
            box = (left + cols[0], top + rows[0], left + cols[-1] + 1, top + rows[-1] + 1)
            if not _overlaps(box, boxes):
                break
        else:
            continue  # no free place for this digit on the canvas
        region = canvas[top : top + size, left : left + size]
        np.maximum(region, digit, out=region)
        mask = np.zeros_like(canvas, dtype=bool)
        mask[top : top + size, left : left + size] = strokes
        boxes.append(box)
        instances.append(dict(bbox=box, mask=mask, digit=int(labels[which]), scan_index=which))
    return canvas, instances


def _write_split(folder: str, split: str, canvases: list[tuple[np.ndarray, list[dict]]]) -> int:
    """Write one split's PNGs and COCO json; return the number of instances."""
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
    return len(annotations)


def prepare_digit_detection(
    out_dir: str,
    num_train: int = 1200,
    num_val: int = 200,
    canvas_size: int = 128,
    digits_per_canvas: tuple[int, int] = (2, 5),
    digit_sizes: tuple[int, int] = (16, 48),
    val_fraction: float = 0.2,
    seed: int = 0,
) -> dict:
    """Write the canvases to ``out_dir`` (reused if an identical set is already there).

    Args:
        out_dir: Output folder; created, or reused when it holds a set made with the same settings.
        num_train: Training canvases, made of the training scans only.
        num_val: Validation canvases, made of the held-out scans only.
        canvas_size: Side of the square canvases in pixels.
        digits_per_canvas: Inclusive range of digits tried per canvas (one that finds no free place is
            left out).
        digit_sizes: Inclusive range of the side, in pixels, that an 8x8 scan is upscaled to.
        val_fraction: Held-out fraction of the scans per class (the classification demo's split).
        seed: Seed of the split and of the canvases.

    Returns the set's description, also stored in ``out_dir/digit_detection.json``.
    """
    lo, hi = digit_sizes
    if not 8 <= lo <= hi <= canvas_size:
        raise ValueError(f'digit_sizes={digit_sizes} must satisfy 8 <= min <= max <= canvas_size={canvas_size}')
    if not 1 <= digits_per_canvas[0] <= digits_per_canvas[1]:
        raise ValueError(f'digits_per_canvas={digits_per_canvas} must satisfy 1 <= min <= max')
    settings = dict(
        num_train=num_train,
        num_val=num_val,
        canvas_size=canvas_size,
        digits_per_canvas=list(digits_per_canvas),
        digit_sizes=list(digit_sizes),
        val_fraction=val_fraction,
        seed=seed,
    )

    def write(folder: str) -> dict:
        scans, labels = load_digit_scans()
        is_val = held_out_mask(labels, val_fraction, seed)
        info = dict(classes=list(CLASSES))
        # Its own stream per split: the validation canvases do not change with num_train.
        for split, count, members, stream in (('train', num_train, ~is_val, 1), ('val', num_val, is_val, 2)):
            rng = np.random.default_rng([seed, stream])
            scan_indices = np.flatnonzero(members)
            canvases = [
                _canvas(rng, scans, labels, scan_indices, canvas_size, digits_per_canvas, digit_sizes)
                for _ in range(count)
            ]
            info[f'num_{split}_instances'] = _write_split(folder, split, canvases)
        return info

    return write_folder_once(out_dir, settings, MARKER, 'digit detection set', write)
