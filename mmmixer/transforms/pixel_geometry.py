"""TensorFlow's geometry of the MLP-Mixer recipe in NumPy: where each output pixel comes from.

The RandAugment geometric ops (``tfa.image.transform``: nearest neighbour with ``std::round``, constant fill),
``tf.image.resize`` bilinear without antialiasing, and the inception crop's box sampling, each with TensorFlow's
float32 arithmetic (big_vision ``pp/ops_image.py`` and ``pp/archive/autoaugment.py``). OpenCV only gathers pixels at
indices computed here. The colour ops and the shared conventions: :mod:`mmmixer.transforms.pixel_ops`.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from mmmixer.transforms.pixel_ops import F32, to_uint8


def _round_half_away(values: np.ndarray) -> np.ndarray:
    """C's std::round: halves go away from zero (np.round goes to even). ``values - trunc(values)`` is exact."""
    whole = np.trunc(values)
    return whole + np.sign(values) * (np.abs(values - whole) >= F32(0.5))


def projective_transform(image: np.ndarray, matrix: tuple[float, ...], fill: int = 128) -> np.ndarray:
    """tfa.image.transform with nearest interpolation and a constant fill.

    ``matrix`` = (a0, a1, a2, b0, b1, b2): output pixel (x, y) reads input pixel
    (round(a0 x + a1 y + a2), round(b0 x + b1 y + b2)), in float32 as TensorFlow's kernel computes it;
    reads outside the image give ``fill`` (autoaugment's wrap/unwrap, which is exact with nearest). The
    source indices are computed here; OpenCV's ``remap`` with integer maps only gathers them.
    """
    a0, a1, a2, b0, b1, b2 = (F32(v) for v in matrix)
    height, width = image.shape[:2]
    if (a0, a1, b0, b1) == (1, 0, 0, 1) and a2 == np.round(a2) and b2 == np.round(b2):
        return _shift(image, int(a2), int(b2), fill)
    xs, ys = np.arange(width, dtype=F32), np.arange(height, dtype=F32)
    src_x = _round_half_away((a0 * xs)[None, :] + (a1 * ys)[:, None] + a2)
    src_y = _round_half_away((b0 * xs)[None, :] + (b1 * ys)[:, None] + b2)
    # Any index outside the image reads the fill; clipping to one past each edge keeps it in int16.
    maps = np.empty((height, width, 2), dtype=np.int16)
    maps[..., 0] = np.clip(src_x, -1, width)
    maps[..., 1] = np.clip(src_y, -1, height)
    out = cv2.remap(image, maps, None, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=(fill,) * 4)
    return out.reshape(image.shape)


def _shift(image: np.ndarray, dx: int, dy: int, fill: int) -> np.ndarray:
    """Output (x, y) reads input (x + dx, y + dy), else ``fill``: a translation by whole pixels, where
    ``round(x + dx)`` is exactly ``x + dx``."""
    height, width = image.shape[:2]
    out = np.full_like(image, fill)
    rows, cols = slice(max(0, -dy), min(height, height - dy)), slice(max(0, -dx), min(width, width - dx))
    if rows.start < rows.stop and cols.start < cols.stop:
        out[rows, cols] = image[rows.start + dy : rows.stop + dy, cols.start + dx : cols.stop + dx]
    return out


def rotate(image: np.ndarray, degrees: float, fill: int = 128) -> np.ndarray:
    """tfa.image.rotate about the image centre (counter-clockwise for positive angles), nearest."""
    radians = F32(degrees) * F32(math.pi / 180.0)
    cos, sin = np.cos(radians, dtype=F32), np.sin(radians, dtype=F32)
    height, width = (F32(n) for n in image.shape[:2])
    one, two = F32(1.0), F32(2.0)
    x_offset = ((width - one) - (cos * (width - one) - sin * (height - one))) / two
    y_offset = ((height - one) - (sin * (width - one) + cos * (height - one))) / two
    return projective_transform(image, (cos, -sin, x_offset, sin, cos, y_offset), fill)


def shear_x(image: np.ndarray, level: float, fill: int = 128) -> np.ndarray:
    """Output (x, y) reads input (x + level * y, y): a shear about the top-left corner."""
    return projective_transform(image, (1.0, level, 0.0, 0.0, 1.0, 0.0), fill)


def shear_y(image: np.ndarray, level: float, fill: int = 128) -> np.ndarray:
    return projective_transform(image, (1.0, 0.0, 0.0, level, 1.0, 0.0), fill)


def translate_x(image: np.ndarray, pixels: float, fill: int = 128) -> np.ndarray:
    """Output (x, y) reads input (x + pixels, y): the content moves left by ``pixels``."""
    return projective_transform(image, (1.0, 0.0, pixels, 0.0, 1.0, 0.0), fill)


def translate_y(image: np.ndarray, pixels: float, fill: int = 128) -> np.ndarray:
    return projective_transform(image, (1.0, 0.0, 0.0, 0.0, 1.0, pixels), fill)


def _resize_weights(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tf.image.resize (bilinear, half-pixel centres) along one axis: lower and upper source index, lerp."""
    scale = F32(in_size) / F32(out_size)
    source = (np.arange(out_size, dtype=F32) + F32(0.5)) * scale - F32(0.5)
    floor = np.floor(source)
    lower = np.maximum(floor, 0).astype(np.intp)
    upper = np.minimum(np.ceil(source), in_size - 1).astype(np.intp)
    return lower, upper, (source - floor).astype(F32)


def _gather_columns(image: np.ndarray, rows: np.ndarray, columns: list[np.ndarray]) -> list[np.ndarray]:
    """``image[rows][:, cols]`` for each of ``columns``, uint8 (H, W, C).

    A 3-channel image is gathered as one 4-byte word per pixel (an alpha byte appended, then dropped): a
    gather of whole words is twice as fast as one of 3 separate bytes.
    """
    if image.shape[2] != 3:
        picked = image[rows]
        return [picked[:, cols] for cols in columns]
    block = cv2.cvtColor(np.ascontiguousarray(image[rows[0] : rows[-1] + 1]), cv2.COLOR_BGR2BGRA)
    words = block.view(np.uint32)[..., 0][rows - rows[0]]
    return [
        cv2.cvtColor(words.take(cols, axis=1).view(np.uint8).reshape(rows.size, cols.size, 4), cv2.COLOR_BGRA2BGR)
        for cols in columns
    ]


def resize_bilinear(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """tf.image.resize(method='bilinear', antialias=False), then big_vision's clip and cast to uint8.

    TensorFlow computes ``top = tl + (tr - tl) * x_lerp`` (and ``bottom`` alike), then
    ``top + (bottom - top) * y_lerp``, in float32. The horizontal step is done once per source row that
    either vertical neighbour reads (the same float32 values), in place. The result lies between its four
    source pixels, so big_vision's clip to [0, 255] never changes it.
    """
    top_i, bottom_i, y_lerp = _resize_weights(image.shape[0], size[0])
    left_i, right_i, x_lerp = _resize_weights(image.shape[1], size[1])
    rows, row_of = np.unique(np.concatenate([top_i, bottom_i]), return_inverse=True)
    channels = image.shape[2]
    # Rows of size[1] * channels values: the lerps broadcast along contiguous rows.
    left, right = (pixels.reshape(rows.size, -1) for pixels in _gather_columns(image, rows, [left_i, right_i]))
    horizontal = cv2.subtract(right, left, dtype=cv2.CV_32F)  # exact: integers
    horizontal *= np.repeat(x_lerp, channels)
    horizontal += left.astype(F32)
    top = horizontal[row_of[: size[0]]]
    out = horizontal[row_of[size[0] :]]
    out -= top
    out *= y_lerp[:, None]
    out += top
    return to_uint8(out).reshape(size[0], size[1], channels)


def _lrint(value: np.float32) -> int:
    """C's lrintf under the default rounding mode: to nearest, halves to even."""
    return int(np.rint(value))


def random_crop_box(
    height: int,
    width: int,
    area_range: tuple[float, float],
    aspect_ratio: float,
    randint,
) -> tuple[int, int, int, int] | None:
    """One attempt of tf.image.sample_distorted_bounding_box (its GenerateRandomCrop), in float32.

    The crop's height is drawn uniformly between the heights that give the smallest and the largest
    allowed area at this aspect ratio (width / height); its width is ``round(height * aspect_ratio)``.
    ``randint(n)`` draws uniformly from [0, n). Returns (top, left, crop height, crop width), or None
    when no crop fits.
    """
    min_area = F32(area_range[0]) * F32(width) * F32(height)
    max_area = F32(area_range[1]) * F32(width) * F32(height)
    ratio = F32(aspect_ratio)
    crop_h = _lrint(np.sqrt(min_area / ratio, dtype=F32))
    max_h = _lrint(np.sqrt(max_area / ratio, dtype=F32))
    if _lrint(F32(max_h) * ratio) > width:
        max_h = int((F32(width) + F32(0.5) - F32(1e-7)) / ratio)
        if _lrint(F32(max_h) * ratio) > width:
            max_h -= 1
    max_h = min(max_h, height)
    crop_h = min(crop_h, max_h)
    if crop_h < max_h:
        crop_h += randint(max_h - crop_h + 1)
    crop_w = _lrint(F32(crop_h) * ratio)
    area = F32(crop_w * crop_h)
    if area < min_area:
        crop_h += 1
        crop_w = _lrint(F32(crop_h) * ratio)
        area = F32(crop_w * crop_h)
    if area > max_area:
        crop_h -= 1
        crop_w = _lrint(F32(crop_h) * ratio)
        area = F32(crop_w * crop_h)
    if area < min_area or area > max_area or crop_w > width or crop_h > height or crop_w <= 0 or crop_h <= 0:
        return None
    top = randint(height - crop_h) if crop_h < height else 0
    left = randint(width - crop_w) if crop_w < width else 0
    return top, left, crop_h, crop_w


def sample_inception_crop(
    height: int,
    width: int,
    area_range: tuple[float, float],
    aspect_ratio_range: tuple[float, float],
    rng: np.random.RandomState | np.random.Generator | None = None,
    max_attempts: int = 100,
) -> tuple[int, int, int, int]:
    """tf.image.sample_distorted_bounding_box with no boxes and ``min_object_covered=0``.

    Up to ``max_attempts`` draws of an aspect ratio, uniform in ``aspect_ratio_range`` (not log-uniform),
    each followed by :func:`random_crop_box`; the whole image when none fits. Returns
    (top, left, crop height, crop width).
    """
    rng = rng if rng is not None else np.random.mtrand._rand
    draw_int = rng.integers if isinstance(rng, np.random.Generator) else rng.randint
    low, high = (F32(v) for v in aspect_ratio_range)
    for _ in range(max_attempts):
        ratio = F32(rng.random_sample() if hasattr(rng, 'random_sample') else rng.random()) * (high - low) + low
        box = random_crop_box(height, width, area_range, ratio, lambda n: int(draw_int(n)))
        if box is not None:
            return box
    return 0, 0, height, width
