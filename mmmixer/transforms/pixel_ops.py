"""TensorFlow's image operations of the MLP-Mixer recipe, in NumPy, with TensorFlow's arithmetic.

The paper's ImageNet training (big_vision ``configs/mlp_mixer_i1k.py``) augments with
``decode_jpeg_and_inception_crop(224) | flip_lr | randaug(2, 15)``: ``tf.image`` ops and the
RandAugment of ``big_vision/pp/archive/autoaugment.py`` (TensorFlow Addons for the geometric ops).
PIL and OpenCV implement most of these ops with other rounding rules, other interpolation and, in
places, other formulas, so each op is written here the way TensorFlow computes it: float32
arithmetic, truncating casts to uint8, nearest-neighbour geometry with ``std::round`` and the
constant fill of ``tfa.image.transform``. Every function takes and returns an (H, W, 3) uint8 array.

Two quirks of the reference are reproduced on purpose, since they are what the paper trained with:
``contrast`` blends towards ``H * W / 256`` (the pixel count over 256, not the mean grey level),
and ``solarize_add`` clips at 255 (mmpretrain's ``SolarizeAdd`` wraps around in uint8 instead).
"""

from __future__ import annotations

import math

import numpy as np

# tf.image.rgb_to_grayscale's weights, for R, G, B.
GRAY_WEIGHTS_RGB = np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)
F32 = np.float32


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """tf.cast(float -> uint8) of values already in [0, 255]: truncation toward zero."""
    return values.astype(np.uint8)


def blend(degenerate: np.ndarray, image: np.ndarray, factor: float) -> np.ndarray:
    """autoaugment.blend(image1=degenerate, image2=image): 0 gives ``degenerate``, 1 ``image``, above 1
    extrapolates away from ``degenerate`` and clips."""
    if factor == 0.0:
        return degenerate.copy()
    if factor == 1.0:
        return image.copy()
    start = degenerate.astype(F32)
    out = start + F32(factor) * (image.astype(F32) - start)
    if 0.0 < factor < 1.0:
        return _to_uint8(out)
    return _to_uint8(np.clip(out, F32(0.0), F32(255.0)))


def grayscale(image: np.ndarray, channel_order: str = 'rgb') -> np.ndarray:
    """tf.image.rgb_to_grayscale on uint8: to float in [0, 1], weighted sum, back with x * 255.5 truncated.

    Returns (H, W) uint8. ``channel_order='bgr'`` for images as mmcv loads them.
    """
    weights = GRAY_WEIGHTS_RGB if channel_order == 'rgb' else GRAY_WEIGHTS_RGB[::-1]
    unit = image.astype(F32) * F32(1.0 / 255.0)
    gray = unit[..., 0] * weights[0] + unit[..., 1] * weights[1] + unit[..., 2] * weights[2]
    return _to_uint8(gray * F32(255.5))


def color(image: np.ndarray, factor: float, channel_order: str = 'rgb') -> np.ndarray:
    """Saturation: blend with the image's own grey version."""
    gray = grayscale(image, channel_order)
    return blend(np.repeat(gray[..., None], 3, axis=2), image, factor)


def contrast(image: np.ndarray, factor: float, channel_order: str = 'rgb') -> np.ndarray:
    """autoaugment.contrast: blend with a flat grey of value ``sum(histogram) / 256`` = H * W / 256.

    The reference means the mean grey level but sums the histogram's counts, not its values; this is
    what the paper's runs computed (196 for a 224 x 224 image), so it is kept. The grey image only
    sets the size here: its values never enter.
    """
    height, width = image.shape[:2]
    level = np.clip(F32(height * width) / F32(256.0), F32(0.0), F32(255.0))
    return blend(np.full_like(image, _to_uint8(level)), image, factor)


def brightness(image: np.ndarray, factor: float) -> np.ndarray:
    """Blend with black."""
    return blend(np.zeros_like(image), image, factor)


def sharpness(image: np.ndarray, factor: float) -> np.ndarray:
    """Blend with PIL's SMOOTH filter (3x3, centre 5, the rest 1, over 13) applied inside a 1-pixel border."""
    kernel = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], dtype=F32) / F32(13.0)
    pixels = image.astype(F32)
    height, width = image.shape[:2]
    # TensorFlow's depthwise convolution accumulates row by row with fused multiply-adds: each step is
    # rounded to float32 once (a float64 product of two float32 values is exact).
    smooth = np.zeros((height - 2, width - 2, image.shape[2]), dtype=np.float64)
    for dy in range(3):
        for dx in range(3):
            window = pixels[dy : dy + height - 2, dx : dx + width - 2].astype(np.float64)
            smooth = (smooth + window * np.float64(kernel[dy, dx])).astype(F32).astype(np.float64)
    degenerate = image.copy()
    degenerate[1:-1, 1:-1] = _to_uint8(np.clip(smooth.astype(F32), F32(0.0), F32(255.0)))
    return blend(degenerate, image, factor)


def autocontrast(image: np.ndarray) -> np.ndarray:
    """Stretch each channel to [0, 255] (float32 scale and offset, truncated); flat channels unchanged."""
    out = image.copy()
    for channel in range(image.shape[2]):
        values = image[..., channel]
        low, high = F32(values.min()), F32(values.max())
        if high > low:
            scale = F32(255.0) / (high - low)
            offset = -low * scale
            out[..., channel] = _to_uint8(np.clip(values.astype(F32) * scale + offset, F32(0.0), F32(255.0)))
    return out


def solarize_add(image: np.ndarray, addition: int, threshold: int = 128) -> np.ndarray:
    """Add ``addition`` to the pixels below ``threshold``, clipped to [0, 255] (computed in int64)."""
    added = np.clip(image.astype(np.int64) + addition, 0, 255).astype(np.uint8)
    return np.where(image < threshold, added, image)


def cutout(image: np.ndarray, pad_size: int, center: tuple[int, int], fill: int = 128) -> np.ndarray:
    """A (2 * pad_size)-sided square of ``fill`` centred at ``center`` = (row, column), clipped to the image.

    The reference draws the centre uniformly over all pixels (``tf.random_uniform([0, H))``, ``[0, W)``).
    """
    height, width = image.shape[:2]
    row, col = center
    out = image.copy()
    out[max(0, row - pad_size) : min(height, row + pad_size), max(0, col - pad_size) : min(width, col + pad_size)] = (
        fill
    )
    return out


def _round_half_away(values: np.ndarray) -> np.ndarray:
    """C's std::round: halves go away from zero (np.round goes to even)."""
    return np.sign(values) * np.floor(np.abs(values) + F32(0.5))


def projective_transform(image: np.ndarray, matrix: tuple[float, ...], fill: int = 128) -> np.ndarray:
    """tfa.image.transform with nearest interpolation and a constant fill.

    ``matrix`` = (a0, a1, a2, b0, b1, b2): output pixel (x, y) reads input pixel
    (round(a0 x + a1 y + a2), round(b0 x + b1 y + b2)), in float32 as TensorFlow's kernel computes it;
    reads outside the image give ``fill`` (autoaugment's wrap/unwrap, which is exact with nearest).
    """
    a0, a1, a2, b0, b1, b2 = (F32(v) for v in matrix)
    height, width = image.shape[:2]
    ys, xs = np.meshgrid(np.arange(height, dtype=F32), np.arange(width, dtype=F32), indexing='ij')
    src_x = _round_half_away(a0 * xs + a1 * ys + a2)
    src_y = _round_half_away(b0 * xs + b1 * ys + b2)
    # One gather from the image framed by a 1-pixel border of ``fill``: every read outside lands on the border.
    framed = np.full((height + 2, width + 2, image.shape[2]), fill, dtype=image.dtype)
    framed[1:-1, 1:-1] = image
    rows = np.clip(src_y, -1, height).astype(np.intp) + 1
    cols = np.clip(src_x, -1, width).astype(np.intp) + 1
    return framed[rows, cols]


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
    lower = np.maximum(floor, 0).astype(np.int64)
    upper = np.minimum(np.ceil(source), in_size - 1).astype(np.int64)
    return lower, upper, (source - floor).astype(F32)


def resize_bilinear(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """tf.image.resize(method='bilinear', antialias=False), then big_vision's clip and cast to uint8.

    TensorFlow computes ``top = tl + (tr - tl) * x_lerp`` (and ``bottom`` alike), then
    ``top + (bottom - top) * y_lerp``; the horizontal step is done once per source row here, which gives
    the same float32 values.
    """
    top_i, bottom_i, y_lerp = _resize_weights(image.shape[0], size[0])
    left_i, right_i, x_lerp = _resize_weights(image.shape[1], size[1])
    rows = np.union1d(top_i, bottom_i)
    source = image.take(rows, axis=0)  # gathered in uint8, converted once gathered
    left = source.take(left_i, axis=1).astype(F32)
    right = source.take(right_i, axis=1).astype(F32)
    horizontal = left + (right - left) * x_lerp[None, :, None]
    top = horizontal.take(np.searchsorted(rows, top_i), axis=0)
    bottom = horizontal.take(np.searchsorted(rows, bottom_i), axis=0)
    out = top + (bottom - top) * y_lerp[:, None, None]
    return _to_uint8(np.clip(out, F32(0.0), F32(255.0)))


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
