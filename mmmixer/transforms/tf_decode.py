"""JPEG decoding as the paper's pipeline decodes: ``tf.io.decode_jpeg``'s libjpeg-turbo settings, via simplejpeg.

big_vision's ``decode_jpeg_and_inception_crop`` (``pp/ops_image.py``) calls ``tf.image.decode_and_crop_jpeg`` with
TensorFlow's default ``dct_method``, libjpeg's fast integer IDCT (``JDCT_IFAST``), and fancy upsampling. PIL and
OpenCV decode with the accurate integer IDCT (``JDCT_ISLOW``): on a photo saved at quality 90, two thirds of the
values differ from TensorFlow's, by up to 7 grey levels (``docs/recipe.md``). simplejpeg's wheel carries its own
libjpeg-turbo, and with ``fastdct=True, fastupsample=False`` it decodes to TensorFlow's pixels (the test compares
with TensorFlow's own output), in about 0.7 of PIL's time since the fast IDCT is cheaper.
"""

from __future__ import annotations

import numpy as np
from mmengine import fileio

from mmmixer.broken_images.loader import LoadImageChecked
from mmmixer.errors import ConfigValueError
from mmmixer.registry import TRANSFORMS

JPEG_START = b'\xff\xd8'


def decode_jpeg_like_tf(data: bytes) -> np.ndarray | None:
    """An (H, W, 3) uint8 BGR array with ``tf.io.decode_jpeg(data, channels=3)``'s pixels; None for bytes that are
    not a JPEG libjpeg-turbo can turn into RGB (another format, CMYK, damage)."""
    import simplejpeg

    if not data.startswith(JPEG_START):
        return None
    try:
        return simplejpeg.decode_jpeg(data, colorspace='BGR', fastdct=True, fastupsample=False)
    except ValueError:  # simplejpeg's error for bytes libjpeg-turbo rejects
        return None


@TRANSFORMS.register_module()
class LoadImageTF(LoadImageChecked):
    """Load an image file; JPEGs are decoded as TensorFlow decodes them (:func:`decode_jpeg_like_tf`).

    Every other file (PNG, CMYK JPEG, a broken file) goes the way ``mmmixer.LoadImageChecked`` takes it (PIL or
    the config's ``imdecode_backend``; one line naming a broken file, or skipping it), so any image ImageNet holds
    loads. TensorFlow ignores a JPEG's EXIF orientation, and so does this loader for the JPEGs it decodes. Takes
    ``LoadImageChecked``'s arguments; ``color_type`` must be ``'color'`` and ``to_float32`` False (the recipe's ops
    take uint8).
    """

    def __init__(self, imdecode_backend: str = 'pillow', **kwargs):
        super().__init__(imdecode_backend=imdecode_backend, **kwargs)
        if self.color_type != 'color' or self.to_float32:
            raise ConfigValueError(
                f'LoadImageTF color_type={self.color_type!r} to_float32={self.to_float32}: it decodes to 3-channel '
                "uint8 as TensorFlow's decode_jpeg(channels=3) does; use LoadImageFromFile for other formats"
            )

    def transform(self, results: dict) -> dict | None:
        try:
            data = fileio.get(results['img_path'], backend_args=self.backend_args)
        except OSError:  # missing, unreadable: LoadImageChecked names the problem
            return super().transform(results)
        image = decode_jpeg_like_tf(data)
        if image is None:
            return super().transform(results)
        results['img'] = image
        results['img_shape'] = image.shape[:2]
        results['ori_shape'] = image.shape[:2]
        return results
