"""Data transforms registered in mmmixer's scope: the paper's ImageNet recipe (big_vision) and the evaluation crop of
the ImageNet-style configs for images of any shape."""

from .recipe_transforms import InceptionCrop, TFAutoContrast, TFCutout, TFEnhance, TFGeometric, TFSolarizeAdd
from .resize_crop import ResizeEdgeCenterCrop

__all__ = [
    'InceptionCrop',
    'ResizeEdgeCenterCrop',
    'TFAutoContrast',
    'TFCutout',
    'TFEnhance',
    'TFGeometric',
    'TFSolarizeAdd',
]
