"""TensorFlow's image operations of the MLP-Mixer recipe, in NumPy and OpenCV, with TensorFlow's arithmetic.

The paper's ImageNet training (big_vision ``configs/mlp_mixer_i1k.py``) augments with
``decode_jpeg_and_inception_crop(224) | flip_lr | randaug(2, 15)``: ``tf.image`` ops and the
RandAugment of ``big_vision/pp/archive/autoaugment.py`` (TensorFlow Addons for the geometric ops).
PIL and OpenCV implement most of these ops with other rounding rules, other interpolation and, in
places, other formulas, so each op is written here the way TensorFlow computes it: float32
arithmetic, truncating casts to uint8, nearest-neighbour geometry with ``std::round`` and the
constant fill of ``tfa.image.transform``. Every function takes and returns an (H, W, 3) uint8 array.
OpenCV does only what is exact whatever its rounding: table look-ups, gathers at given integer indices, integer box
sums and byte-layout conversions; its own resize and warps round in fixed point and are not used. Each op is checked
against TensorFlow's output on eight photos (tests/test_transforms/test_recipe_photos.py). The ops that move
pixels (rotate, shear, translate, resize, the inception crop's box): :mod:`mmmixer.transforms.pixel_geometry`.

Two quirks of the reference are reproduced on purpose, since they are what the paper trained with:
``contrast`` blends towards ``H * W / 256`` (the pixel count over 256, not the mean grey level),
and ``solarize_add`` clips at 255 (mmpretrain's ``SolarizeAdd`` wraps around in uint8 instead).
"""

from __future__ import annotations

import cv2
import numpy as np

# tf.image.rgb_to_grayscale's weights, for R, G, B.
GRAY_WEIGHTS_RGB = np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)
F32 = np.float32


def to_uint8(values: np.ndarray) -> np.ndarray:
    """tf.cast(float -> uint8) of values already in [0, 255]: truncation toward zero."""
    return values.astype(np.uint8)


def apply_table(image: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[image]`` for a 256-entry uint8 table (one for all channels, or (256, 3): one per channel).

    Every op whose output pixel depends on that pixel's value alone is a table: computed once per call with
    TensorFlow's arithmetic on the 256 possible values, applied with OpenCV's look-up (an exact gather).
    """
    table = np.ascontiguousarray(table, dtype=np.uint8).reshape(1, 256, -1)
    return cv2.LUT(image, table if table.shape[2] > 1 else table[..., 0])


def _blend_values(degenerate: np.ndarray, image: np.ndarray, factor: float) -> np.ndarray:
    """autoaugment.blend's float32 arithmetic: ``degenerate + factor * (image - degenerate)``, in place on copies."""
    start = degenerate.astype(F32)
    out = image.astype(F32)
    out -= start
    out *= F32(factor)
    out += start
    if not 0.0 < factor < 1.0:
        np.clip(out, F32(0.0), F32(255.0), out=out)
    return to_uint8(out)


def blend(degenerate: np.ndarray, image: np.ndarray, factor: float) -> np.ndarray:
    """autoaugment.blend(image1=degenerate, image2=image): 0 gives ``degenerate``, 1 ``image``, above 1
    extrapolates away from ``degenerate`` and clips."""
    if factor == 0.0:
        return degenerate.copy()
    if factor == 1.0:
        return image.copy()
    return _blend_values(degenerate, image, factor)


def blend_with_constant(value: int, image: np.ndarray, factor: float) -> np.ndarray:
    """:func:`blend` with a flat degenerate image of ``value``: a table over the 256 input values."""
    if factor == 1.0:
        return image.copy()
    return apply_table(image, blend(np.full(256, value, np.uint8), np.arange(256, dtype=np.uint8), factor))


def _gray_terms(channel_order: str) -> np.ndarray:
    """(256, 3) float32: ``float32(v * (1/255)) * weight`` for each value v and channel, as rgb_to_grayscale's
    convert_image_dtype and tensordot round them."""
    weights = GRAY_WEIGHTS_RGB if channel_order == 'rgb' else GRAY_WEIGHTS_RGB[::-1]
    unit = np.arange(256, dtype=F32) * F32(1.0 / 255.0)
    return np.ascontiguousarray(unit[:, None] * weights[None, :])


GRAY_TERMS = {order: _gray_terms(order) for order in ('rgb', 'bgr')}


def grayscale(image: np.ndarray, channel_order: str = 'rgb') -> np.ndarray:
    """tf.image.rgb_to_grayscale on uint8: to float in [0, 1], weighted sum, back with x * 255.5 truncated.

    Returns (H, W) uint8. ``channel_order='bgr'`` for images as mmcv loads them. The sum runs in R, G, B order
    whatever the channel order, as TensorFlow's does.
    """
    table = GRAY_TERMS[channel_order]
    terms = [cv2.LUT(plane, table[:, channel].copy()) for channel, plane in enumerate(cv2.split(image))]
    red, green, blue = (0, 1, 2) if channel_order == 'rgb' else (2, 1, 0)
    gray = terms[red] + terms[green]
    gray += terms[blue]
    gray *= F32(255.5)
    return to_uint8(gray)


def color(image: np.ndarray, factor: float, channel_order: str = 'rgb') -> np.ndarray:
    """Saturation: blend with the image's own grey version."""
    gray = grayscale(image, channel_order)
    return blend(cv2.merge([gray] * image.shape[2]), image, factor)  # contiguous: no broadcasting over channels


def contrast(image: np.ndarray, factor: float, channel_order: str = 'rgb') -> np.ndarray:
    """autoaugment.contrast: blend with a flat grey of value ``sum(histogram) / 256`` = H * W / 256.

    The reference means the mean grey level but sums the histogram's counts, not its values; this is
    what the paper's runs computed (196 for a 224 x 224 image), so it is kept. The grey image only
    sets the size here: its values never enter.
    """
    height, width = image.shape[:2]
    level = np.clip(F32(height * width) / F32(256.0), F32(0.0), F32(255.0))
    return blend_with_constant(int(level), image, factor)


def brightness(image: np.ndarray, factor: float) -> np.ndarray:
    """Blend with black."""
    return blend_with_constant(0, image, factor)


# tf.nn.depthwise_conv2d with PIL's SMOOTH kernel: the taps in the order TensorFlow accumulates them (rows, then
# columns), each weight float32(w / 13).
SMOOTH_TAP_WEIGHTS = (np.array([1, 1, 1, 1, 5, 1, 1, 1, 1], dtype=F32) / F32(13.0)).astype(np.float64)


def _tap_offsets(width: int, channels: int) -> np.ndarray:
    """Flat offsets of the 9 taps from the centre pixel, in TensorFlow's order."""
    return np.array([(dy * width + dx) * channels for dy in (-1, 0, 1) for dx in (-1, 0, 1)])


def _smooth_interior(image: np.ndarray) -> np.ndarray:
    """uint8 of the float32 SMOOTH filter inside a 1-pixel border: (H - 2, W - 2, C).

    TensorFlow accumulates the 9 taps with one float32 rounding per tap (a fused multiply-add). The exact
    value is ``s / 13`` for the integer ``s = box sum + 4 * centre``; the accumulated one is within 1e-4 of it,
    so its truncation is ``s // 13`` unless 13 divides ``s``. Only there (1 pixel in 13) can the rounding
    fall below the integer, and there the accumulation is replayed in float64, where a float32 product is
    exact and one rounding to float32 per tap is TensorFlow's.
    """
    height, width, channels = image.shape
    # s for every pixel (the border's are not used), exact: integers below 2^24 in float32.
    box = cv2.boxFilter(image, cv2.CV_32F, (3, 3), normalize=False, borderType=cv2.BORDER_REPLICATE)
    total = cv2.scaleAdd(image.astype(F32), 4.0, box)
    # (s + 0.5) / 13 lies at least 0.5 / 13 away from an integer: its floor is s // 13, whatever the rounding.
    scaled = total
    scaled += F32(0.5)
    scaled *= F32(1.0 / 13.0)
    quotient = np.floor(scaled)
    scaled -= quotient
    replay = scaled < F32(1.0 / 13.0)  # s = 13 * quotient
    replay &= quotient > 0
    replay[[0, -1]] = False
    replay[:, [0, -1]] = False
    centres = np.flatnonzero(replay)
    if centres.size:
        taps = image.reshape(-1).take(_tap_offsets(width, channels)[:, None] + centres[None])
        products = taps * SMOOTH_TAP_WEIGHTS[:, None]  # float64: exact
        acc = np.zeros(centres.size, dtype=F32)
        for product in products:
            acc = (acc + product).astype(F32)
        flat = quotient.reshape(-1)
        flat[centres] -= acc < flat[centres]
    return quotient[1:-1, 1:-1].astype(np.uint8)


def sharpness(image: np.ndarray, factor: float) -> np.ndarray:
    """Blend with PIL's SMOOTH filter (3x3, centre 5, the rest 1, over 13) applied inside a 1-pixel border."""
    if min(image.shape[:2]) < 3:  # no interior: the degenerate image is the image
        return image.copy()
    degenerate = image.copy()
    degenerate[1:-1, 1:-1] = _smooth_interior(image)
    return blend(degenerate, image, factor)


def autocontrast(image: np.ndarray) -> np.ndarray:
    """Stretch each channel to [0, 255] (float32 scale and offset, truncated); flat channels unchanged."""
    values = np.arange(256, dtype=F32)
    tables = np.empty((256, image.shape[2]), dtype=np.uint8)
    for channel, plane in enumerate(cv2.split(image)):  # contiguous planes: fast reductions
        low, high = F32(plane.min()), F32(plane.max())
        if high > low:
            scale = F32(255.0) / (high - low)
            offset = -low * scale
            tables[:, channel] = to_uint8(np.clip(values * scale + offset, F32(0.0), F32(255.0)))
        else:
            tables[:, channel] = np.arange(256)
    return apply_table(image, tables)


def equalize(image: np.ndarray) -> np.ndarray:
    """autoaugment.equalize (PIL's ImageOps.equalize in integers), per channel.

    ``step = (pixels - count of the highest value present) // 255``; the channel is left as it is when
    ``step`` is 0, else mapped through ``(cumulative count before v + step // 2) // step``, clipped to 255.
    """
    tables = np.empty((256, image.shape[2]), dtype=np.uint8)
    for channel in range(image.shape[2]):
        histogram = cv2.calcHist([image], [channel], None, [256], [0, 256]).ravel().astype(np.int64)
        last = histogram[np.flatnonzero(histogram)[-1]]
        step = (histogram.sum() - last) // 255
        if step == 0:
            tables[:, channel] = np.arange(256)
        else:
            before = np.concatenate([[0], np.cumsum(histogram)[:-1]])
            tables[:, channel] = np.clip((before + step // 2) // step, 0, 255)
    return apply_table(image, tables)


def solarize(image: np.ndarray, threshold: int = 128) -> np.ndarray:
    """Invert the pixels at or above ``threshold`` (``tf.where(image < threshold, image, 255 - image)``)."""
    values = np.arange(256)
    return apply_table(image, np.where(values < threshold, values, 255 - values))


def solarize_add(image: np.ndarray, addition: int, threshold: int = 128) -> np.ndarray:
    """Add ``addition`` to the pixels below ``threshold``, clipped to [0, 255] (computed in int64)."""
    values = np.arange(256, dtype=np.int64)
    return apply_table(image, np.where(values < threshold, np.clip(values + addition, 0, 255), values))


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
