"""Data transforms for the paper's ImageNet recipe, computed as TensorFlow computes them.

``InceptionCrop`` is big_vision's ``decode_jpeg_and_inception_crop``; the ``TF*`` ops are the
RandAugment operations that mmpretrain has no exact equivalent for (``configs/_base_/datasets/
imagenet_bs64_mixer_224.py`` lists which op comes from where). Each op is always applied when
mmpretrain's ``RandAugment`` picks it, as in TensorFlow's ``distort_image_with_randaugment``; the
arithmetic lives in :mod:`mmmixer.transforms.pixel_ops` (colours) and :mod:`mmmixer.transforms.pixel_geometry`
(where pixels come from). Images are mmcv's (H, W, 3) uint8, BGR.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmmixer.errors import ConfigValueError
from mmmixer.registry import TRANSFORMS
from mmmixer.transforms.pixel_geometry import (
    resize_bilinear,
    rotate,
    sample_inception_crop,
    shear_x,
    shear_y,
    translate_x,
    translate_y,
)
from mmmixer.transforms.pixel_ops import (
    autocontrast,
    brightness,
    color,
    contrast,
    cutout,
    equalize,
    sharpness,
    solarize,
    solarize_add,
)

ENHANCE_OPS = {
    'color': lambda img, factor: color(img, factor, channel_order='bgr'),
    'contrast': lambda img, factor: contrast(img, factor, channel_order='bgr'),
    'brightness': brightness,
    'sharpness': sharpness,
}
GEOMETRIC_OPS = {
    'rotate': rotate,
    'shear_x': shear_x,
    'shear_y': shear_y,
    'translate_x': translate_x,
    'translate_y': translate_y,
}


def _contiguous(results: dict) -> np.ndarray:
    """The image, C-contiguous: ``RandomFlip`` hands on a mirrored view, on which OpenCV and NumPy's reductions and
    gathers run at half speed or copy anyway."""
    return np.ascontiguousarray(results['img'])


def _check_choice(name: str, value: str, choices: dict) -> None:
    if value not in choices:
        raise ConfigValueError(f'{name}={value!r} is not supported; choose one of {sorted(choices)}')


@TRANSFORMS.register_module()
class InceptionCrop(BaseTransform):
    """A random crop of random area and aspect ratio, resized to ``size`` (big_vision's inception crop).

    The box is drawn as ``tf.image.sample_distorted_bounding_box`` draws it: up to ``max_attempts``
    aspect ratios (width / height) uniform in ``aspect_ratio_range``, each with a crop height uniform
    between those giving the smallest and the largest area in ``area_range`` (fractions of the
    image), and the whole image if none fits. It is then resized as ``tf.image.resize`` does
    (bilinear, half-pixel centres, no antialiasing) and cast to uint8 by truncation, as big_vision's
    ``resize`` op does. mmpretrain's ``RandomResizedCrop`` differs in each of these points (area
    uniform, log-uniform ratio, 10 attempts then a centre crop, PIL/OpenCV resizing).
    """

    def __init__(
        self,
        size: int | Sequence[int] = 224,
        area_range: Sequence[float] = (0.05, 1.0),
        aspect_ratio_range: Sequence[float] = (0.75, 1.33),
        max_attempts: int = 100,
    ):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if len(self.size) != 2 or min(self.size) <= 0:
            raise ConfigValueError(f'InceptionCrop size={size!r} must be a positive int or (height, width)')
        if not 0.0 < area_range[0] <= area_range[1] <= 1.0:
            raise ConfigValueError(f'InceptionCrop area_range={area_range!r} must satisfy 0 < low <= high <= 1')
        if not 0.0 < aspect_ratio_range[0] <= aspect_ratio_range[1]:
            raise ConfigValueError(
                f'InceptionCrop aspect_ratio_range={aspect_ratio_range!r} must satisfy 0 < low <= high'
            )
        if max_attempts < 1:
            raise ConfigValueError(f'InceptionCrop max_attempts={max_attempts} must be at least 1')
        self.area_range = tuple(area_range)
        self.aspect_ratio_range = tuple(aspect_ratio_range)
        self.max_attempts = max_attempts

    @cache_randomness
    def sample_box(self, height: int, width: int) -> tuple[int, int, int, int]:
        """(top, left, crop height, crop width) for an image of this size."""
        return sample_inception_crop(
            height, width, self.area_range, self.aspect_ratio_range, max_attempts=self.max_attempts
        )

    def transform(self, results: dict) -> dict:
        img = results['img']
        top, left, crop_h, crop_w = self.sample_box(*img.shape[:2])
        results['img'] = resize_bilinear(img[top : top + crop_h, left : left + crop_w], self.size)
        results['img_shape'] = self.size
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(size={self.size}, area_range={self.area_range}, '
            f'aspect_ratio_range={self.aspect_ratio_range}, max_attempts={self.max_attempts})'
        )


@TRANSFORMS.register_module()
class TFEnhance(BaseTransform):
    """TensorFlow's Color, Contrast, Brightness or Sharpness: a blend with a degenerate image, by ``factor``.

    ``factor`` 1 is the identity; TensorFlow's RandAugment uses ``level / 10 * 1.8 + 0.1`` with no random
    sign (2.8 at level 15), where mmpretrain's ops negate the magnitude at random.
    """

    def __init__(self, kind: str, factor: float):
        _check_choice('TFEnhance kind', kind, ENHANCE_OPS)
        if factor < 0:
            raise ConfigValueError(f'TFEnhance factor={factor} must be >= 0')
        self.kind = kind
        self.factor = float(factor)

    def transform(self, results: dict) -> dict:
        results['img'] = ENHANCE_OPS[self.kind](_contiguous(results), self.factor)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(kind={self.kind!r}, factor={self.factor})'


@TRANSFORMS.register_module()
class TFGeometric(BaseTransform):
    """TensorFlow Addons' rotate, shear or translate, nearest-neighbour, empty pixels set to ``fill``.

    ``magnitude`` is degrees (rotate), the shear factor (shear_x / shear_y) or pixels (translate_x /
    translate_y); its sign is flipped with probability ``random_negative_prob``, as TensorFlow's
    RandAugment does for all five. Rotation is about the image centre; shears are about the top-left
    corner (``tfa.image.transform``), not the centre as in mmpretrain's ``Shear``.
    """

    def __init__(self, kind: str, magnitude: float, random_negative_prob: float = 0.5, fill: int = 128):
        _check_choice('TFGeometric kind', kind, GEOMETRIC_OPS)
        if not 0.0 <= random_negative_prob <= 1.0:
            raise ConfigValueError(f'TFGeometric random_negative_prob={random_negative_prob} must be in [0, 1]')
        self.kind = kind
        self.magnitude = float(magnitude)
        self.random_negative_prob = random_negative_prob
        self.fill = fill

    @cache_randomness
    def signed_magnitude(self) -> float:
        return -self.magnitude if np.random.rand() < self.random_negative_prob else self.magnitude

    def transform(self, results: dict) -> dict:
        results['img'] = GEOMETRIC_OPS[self.kind](_contiguous(results), self.signed_magnitude(), self.fill)
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(kind={self.kind!r}, magnitude={self.magnitude}, '
            f'random_negative_prob={self.random_negative_prob}, fill={self.fill})'
        )


@TRANSFORMS.register_module()
class TFAutoContrast(BaseTransform):
    """Stretch each channel to [0, 255] with TensorFlow's float32 arithmetic (mmcv's uses float64)."""

    def transform(self, results: dict) -> dict:
        results['img'] = autocontrast(_contiguous(results))
        return results


@TRANSFORMS.register_module()
class TFEqualize(BaseTransform):
    """Histogram equalisation per channel, autoaugment.equalize's integer rule (PIL's), as a look-up table.

    mmpretrain's ``Equalize`` computes the same pixels (mmcv's ``imequalize``) in 7x the time.
    """

    def transform(self, results: dict) -> dict:
        results['img'] = equalize(_contiguous(results))
        return results


@TRANSFORMS.register_module()
class TFSolarize(BaseTransform):
    """Invert the pixels at or above ``threshold``, as a look-up table (mmpretrain's ``Solarize`` computes the
    same pixels with four array passes)."""

    def __init__(self, threshold: int = 128):
        if not 0 <= threshold <= 256:
            raise ConfigValueError(f'TFSolarize threshold={threshold} must be in [0, 256]')
        self.threshold = int(threshold)

    def transform(self, results: dict) -> dict:
        results['img'] = solarize(_contiguous(results), self.threshold)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(threshold={self.threshold})'


@TRANSFORMS.register_module()
class TFSolarizeAdd(BaseTransform):
    """Add ``addition`` to pixels below ``threshold``, clipped at 255 (mmpretrain's wraps around in uint8)."""

    def __init__(self, addition: int, threshold: int = 128):
        self.addition = int(addition)
        self.threshold = int(threshold)

    def transform(self, results: dict) -> dict:
        results['img'] = solarize_add(_contiguous(results), self.addition, self.threshold)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(addition={self.addition}, threshold={self.threshold})'


@TRANSFORMS.register_module()
class TFCutout(BaseTransform):
    """A ``2 * pad_size`` square of ``fill`` centred on a uniformly drawn pixel, clipped to the image."""

    def __init__(self, pad_size: int, fill: int = 128):
        if pad_size < 0:
            raise ConfigValueError(f'TFCutout pad_size={pad_size} must be >= 0')
        self.pad_size = int(pad_size)
        self.fill = fill

    @cache_randomness
    def sample_center(self, height: int, width: int) -> tuple[int, int]:
        return int(np.random.randint(height)), int(np.random.randint(width))

    def transform(self, results: dict) -> dict:
        img = results['img']
        results['img'] = cutout(img, self.pad_size, self.sample_center(*img.shape[:2]), self.fill)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(pad_size={self.pad_size}, fill={self.fill})'
