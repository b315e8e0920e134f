"""Data transforms registered in mmmixer's scope: the paper's ImageNet recipe (big_vision) and the evaluation crop of
the ImageNet-style configs for images of any shape."""

from .recipe_transforms import (
    InceptionCrop,
    TFAutoContrast,
    TFCutout,
    TFEnhance,
    TFEqualize,
    TFGeometric,
    TFSolarize,
    TFSolarizeAdd,
)
from .resize_crop import ResizeEdgeCenterCrop
from .tf_decode import LoadImageTF, decode_jpeg_like_tf

__all__ = [
    'InceptionCrop',
    'LoadImageTF',
    'ResizeEdgeCenterCrop',
    'TFAutoContrast',
    'TFCutout',
    'TFEnhance',
    'TFEqualize',
    'TFGeometric',
    'TFSolarize',
    'TFSolarizeAdd',
    'decode_jpeg_like_tf',
]
