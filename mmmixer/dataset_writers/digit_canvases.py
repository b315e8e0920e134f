"""Canvases of scikit-learn's real digit scans, shared by the detection and segmentation demo sets.

Each canvas is a black greyscale image with a few digits pasted at random positions and sizes,
never overlapping. Every digit is an instance: its digit (0-9), its stroke mask (the upscaled scan
at >= :data:`STROKE_THRESHOLD`), the tight box of that mask and ``scan_index``, the scan's index in
``sklearn.datasets.load_digits()``.

The validation canvases are made only of the scans that the classification demo holds out
(:func:`mmmixer.dataset_writers.digits.held_out_mask` with the same ``val_fraction`` and ``seed``), so a
model fine-tuned from the ``make demo`` checkpoint is evaluated on digits that it has never seen.
The same settings give the same canvases, whichever writer asks for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from mmmixer.dataset_writers.digits import held_out_mask, load_digit_scans, upscale
from mmmixer.fileio import write_folder_once

CLASSES = tuple(str(digit) for digit in range(10))
# An upscaled scan's pixel belongs to a stroke from this grey level on (0-255).
STROKE_THRESHOLD = 128
# Digits keep this many pixels between their boxes.
MIN_GAP = 2
PLACEMENT_TRIES = 50

Canvas = tuple[np.ndarray, list[dict]]


def canvas_settings(
    num_train: int = 1200,
    num_val: int = 200,
    canvas_size: int = 128,
    digits_per_canvas: tuple[int, int] = (2, 5),
    digit_sizes: tuple[int, int] = (16, 48),
    val_fraction: float = 0.2,
    seed: int = 0,
) -> dict:
    """Checked settings of a set of canvases (what its writer records, and what :func:`digit_canvases` takes).

    Args:
        num_train: Training canvases, made of the training scans only.
        num_val: Validation canvases, made of the held-out scans only.
        canvas_size: Side of the square canvases in pixels.
        digits_per_canvas: Inclusive range of digits tried per canvas (one that finds no free place is
            left out).
        digit_sizes: Inclusive range of the side, in pixels, that an 8x8 scan is upscaled to.
        val_fraction: Held-out fraction of the scans per class (the classification demo's split).
        seed: Seed of the split and of the canvases.
    """
    for name, count in (('num_train', num_train), ('num_val', num_val)):
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f'{name}={count!r} must be a positive number of canvases')
    lo, hi = digit_sizes
    if not 8 <= lo <= hi <= canvas_size:
        raise ValueError(f'digit_sizes={digit_sizes} must satisfy 8 <= min <= max <= canvas_size={canvas_size}')
    if not 1 <= digits_per_canvas[0] <= digits_per_canvas[1]:
        raise ValueError(f'digits_per_canvas={digits_per_canvas} must satisfy 1 <= min <= max')
    return dict(
        num_train=num_train,
        num_val=num_val,
        canvas_size=canvas_size,
        digits_per_canvas=list(digits_per_canvas),
        digit_sizes=list(digit_sizes),
        val_fraction=val_fraction,
        seed=seed,
    )


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
) -> Canvas:
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


def digit_canvases(settings: dict) -> Iterator[tuple[str, list[Canvas]]]:
    """``(split, canvases)`` for ``'train'`` and ``'val'``, made as ``settings`` (:func:`canvas_settings`) say."""
    scans, labels = load_digit_scans()
    is_val = held_out_mask(labels, settings['val_fraction'], settings['seed'])
    # Its own stream per split: the validation canvases do not change with num_train.
    for split, members, stream in (('train', ~is_val, 1), ('val', is_val, 2)):
        rng = np.random.default_rng([settings['seed'], stream])
        scan_indices = np.flatnonzero(members)
        yield (
            split,
            [
                _canvas(
                    rng,
                    scans,
                    labels,
                    scan_indices,
                    settings['canvas_size'],
                    tuple(settings['digits_per_canvas']),
                    tuple(settings['digit_sizes']),
                )
                for _ in range(settings[f'num_{split}'])
            ],
        )


def write_canvas_set(
    out_dir: str,
    settings: dict,
    marker: str,
    kind: str,
    classes: tuple[str, ...],
    write_split: Callable[[str, str, list[Canvas]], dict[str, object]],
    force: bool = False,
) -> dict:
    """Write the canvases that ``settings`` (:func:`canvas_settings`'s arguments) describe into ``out_dir`` once,
    each split by ``write_split(folder, split, canvases)``, whose returned entries join the set's description
    (stored in ``out_dir/marker``; ``kind`` names the set in errors). Reused when ``out_dir`` holds the same set;
    a set made with other settings is replaced only with ``force``."""
    settings = canvas_settings(**settings)

    def write(folder: str) -> dict:
        info = dict(classes=list(classes))
        for split, canvases in digit_canvases(settings):
            info.update(write_split(folder, split, canvases))
        return info

    return write_folder_once(out_dir, settings, marker, kind, write, force)
