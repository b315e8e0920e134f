"""The evaluation crop of the ImageNet-style configs, for images of any shape.

mmpretrain's ``ResizeEdge(scale, edge='short', backend='pillow')`` followed by ``CenterCrop(crop_size)`` (timm's
eval transform) resizes the whole image before cropping its centre. For a strip such as 8x3000 px that first image is
256x96000 px (74 MB), for 1x4096 px 256x1048576 (805 MB), although only a 224x224 crop of it is kept.
:class:`ResizeEdgeCenterCrop` runs the same two steps, with the same PIL calls, wherever the resized image is at most
:data:`MAX_ASPECT` times longer than wide (every photo of usual shape: the pixels are those of the two steps). For
longer strips it resizes only the crop's region of the original (PIL's ``Image.resize(box=...)``, whose filter still
reads the pixels around that region): the same crop, computed in floating point from another origin, so that a
pixel can round to another value (``tests/test_transforms/test_resize_crop.py`` measures both).
"""

from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform

from mmmixer.errors import ConfigValueError
from mmmixer.registry import TRANSFORMS

# Up to this ratio of the resized image's sides the two steps run as they are (at most 4 x scale^2 pixels, 3 MB at
# scale 512); beyond it only the crop's region is resized.
MAX_ASPECT = 4
# PIL's filters by the names mmcv's pillow backend gives them.
PILLOW_FILTERS = ('nearest', 'bilinear', 'bicubic', 'box', 'lanczos', 'hamming')


def short_edge_size(height: int, width: int, scale: int) -> tuple[int, int]:
    """``(height, width)`` with the shorter side resized to ``scale``, the longer one truncated as ``ResizeEdge``
    (and torchvision's ``Resize``) truncate it."""
    if width < height:
        return int(scale * height / width), scale
    return scale, int(scale * width / height)


def centre_offset(size: int, crop: int) -> int:
    """Where ``CenterCrop`` (mmcv's, and torchvision's) starts a crop of ``crop`` pixels out of ``size``."""
    return max(0, int(round((size - crop) / 2.0)))


@TRANSFORMS.register_module()
class ResizeEdgeCenterCrop(BaseTransform):
    """``ResizeEdge(scale, edge='short', backend='pillow', interpolation)`` then ``CenterCrop(crop_size)``, without a
    large intermediate image for any shape (see the module's docstring).

    Args:
        scale (int): The length of the shorter side after resizing (e.g. 256).
        crop_size (int): The side of the square centre crop (e.g. 224); at most ``scale``.
        interpolation (str): PIL's filter: 'nearest', 'bilinear', 'bicubic', 'box', 'lanczos' or 'hamming'.
            Defaults to 'bilinear'.

    Takes an (H, W) or (H, W, C) uint8 ``img``; sets ``img``, ``img_shape``, ``scale`` (the resized size, W x H)
    and ``scale_factor``, as the two steps do.
    """

    def __init__(self, scale: int, crop_size: int, interpolation: str = 'bilinear'):
        if not isinstance(scale, int) or not isinstance(crop_size, int) or not 1 <= crop_size <= scale:
            raise ConfigValueError(
                f'ResizeEdgeCenterCrop scale={scale!r} crop_size={crop_size!r}: both must be ints with '
                '1 <= crop_size <= scale (e.g. scale=256, crop_size=224)'
            )
        if interpolation not in PILLOW_FILTERS:
            raise ConfigValueError(
                f'ResizeEdgeCenterCrop interpolation={interpolation!r} is unknown; choose one of {PILLOW_FILTERS}'
            )
        self.scale = scale
        self.crop_size = crop_size
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        from mmcv.image.geometric import pillow_interp_codes
        from PIL import Image

        image = results['img']
        if image.dtype != np.uint8:
            raise ConfigValueError(
                f'ResizeEdgeCenterCrop resizes 8-bit images (got {image.dtype}); drop to_float32 from the image loader'
            )
        height, width = image.shape[:2]
        resized_height, resized_width = short_edge_size(height, width, self.scale)
        crop = self.crop_size
        top, left = centre_offset(resized_height, crop), centre_offset(resized_width, crop)
        filter_ = pillow_interp_codes[self.interpolation]
        if max(resized_height, resized_width) <= MAX_ASPECT * self.scale:  # ResizeEdge, then CenterCrop
            resized = Image.fromarray(image).resize((resized_width, resized_height), filter_)
            cropped = resized.crop((left, top, left + crop, top + crop))
        else:  # the crop's region in the original's coordinates, resized alone
            sx, sy = width / resized_width, height / resized_height
            box = (left * sx, top * sy, (left + crop) * sx, (top + crop) * sy)
            cropped = Image.fromarray(image).resize((crop, crop), filter_, box=box)
        results['img'] = np.array(cropped)  # writable, as mmcv's resize returns it
        results['img_shape'] = (crop, crop)
        results['scale'] = (resized_width, resized_height)
        results['scale_factor'] = (resized_width / width, resized_height / height)
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(scale={self.scale}, crop_size={self.crop_size}, '
            f'interpolation={self.interpolation!r})'
        )
