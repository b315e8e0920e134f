"""Any image file a user has, decoded the way the models take images: 3 channels, 8 bits, BGR.

BGR is what mmcv's ``LoadImageFromFile`` hands every pipeline; a config's data preprocessor turns it to RGB where the
model wants RGB (``to_rgb=True``), so one decoder serves every config. mmcv decodes the common files well (8-bit RGB
or grey JPEG, PNG ...) and those are left to it, with the config's decoder (``imdecode_backend``), so that their
pixels do not change. The others it decodes badly or not at all, and :func:`decode_image` takes them through PIL:

* transparency (RGBA, grey + alpha, a palette or a PNG with a transparent colour) is composited on white
  (:data:`BACKGROUND`), as a page or a browser shows the picture; mmcv's cv2 decoder drops the alpha channel,
  which keeps whatever colour the transparent pixels happen to hold (often black), its PIL decoder does the same;
* 16-bit and 32-bit integer images, grey or colour, are scaled to 8 bits (``round(v * 255 / 65535)``, so 65535
  becomes 255; 32-bit values are taken as 16-bit ones and clipped); PIL's own conversion clips grey ones, so that
  nearly every pixel of a 16-bit scan is white, and keeps the high byte of colour ones (as cv2 does); float images
  are taken as [0, 1] when no value exceeds 1, else as [0, 255];
* CMYK, palette, 1-bit, YCbCr, HSV and LAB images are converted to RGB (LAB through PIL's colour-management
  module; embedded ICC profiles are not applied);
* the EXIF orientation is applied (cv2 and mmcv's PIL decoder apply it as well), and animations give their first frame.

OpenCV's decoders print their own lines on a damaged file (``[ WARN:0@0.2] global grfmt_png.cpp ...``, libjpeg's
``Corrupt JPEG data ...``); here the caller says what is wrong in one line of its own, so :func:`quiet_opencv`
silences them while it decodes.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from collections.abc import Iterator

import numpy as np

BACKGROUND = (255, 255, 255)  # RGB on which transparent pixels are composited
PLAIN_MODES = ('RGB', 'L')  # left to the config's decoder when nothing in them is transparent


@contextlib.contextmanager
def quiet_opencv() -> Iterator[None]:
    """Silence OpenCV while the block runs: its log, and what the libjpeg and libpng inside it print.

    The log level is scoped, not process-wide (``OPENCV_LOG_LEVEL`` in the environment would be, and would come too
    late: OpenCV reads it once, and mmcv has imported cv2 before any image is decoded). libjpeg and libpng write their
    warnings (``Corrupt JPEG data: 68 extraneous bytes before marker 0x40``) to file descriptor 2 themselves, so it
    points at /dev/null for the decode: a few milliseconds in which another thread's writes to stderr are lost too.
    """
    from cv2.utils import logging

    previous = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    sys.stderr.flush()
    try:
        with _native_stderr_to_devnull():
            yield
    finally:
        logging.setLogLevel(previous)


@contextlib.contextmanager
def _native_stderr_to_devnull() -> Iterator[None]:
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def decode_image(data: bytes, backend: str = 'cv2') -> np.ndarray | None:
    """An image file's bytes as an (H, W, 3) uint8 BGR array; None where no decoder recognises the bytes.

    ``backend`` is mmcv's decoder for the plain images (``imdecode_backend`` of ``LoadImageFromFile``: ``cv2``,
    ``pillow``, ``turbojpeg``, ``tifffile``); the rest go through PIL (see the module's docstring). A file that a
    decoder recognises but cannot decode (truncated, damaged) raises that decoder's exception.
    """
    import mmcv

    with quiet_opencv(), warnings.catch_warnings():
        # PIL's notes on damage it can read past ("Corrupt EXIF data", "Palette images with Transparency ... should be
        # converted to RGBA": done here); damage it cannot read past raises, and the caller names the file.
        warnings.filterwarnings('ignore', category=UserWarning, module='PIL')
        image = open_with_pillow(data)
        if image is not None and holds_16_bit_colour(image):  # PIL would keep the high byte: cv2 reads all 16 bits
            decoded = opencv_to_bgr(data)
            if decoded is not None:
                return decoded
        if image is None or (image.mode in PLAIN_MODES and 'transparency' not in image.info):
            try:
                decoded = mmcv.imfrombytes(data, flag='color', backend=backend)
            except Exception:  # each backend raises its own types on bytes it cannot take
                if image is None:
                    raise
                decoded = None
            if decoded is not None and decoded.dtype == np.uint8 and decoded.ndim == 3 and decoded.shape[2] == 3:
                return decoded  # (tifffile returns what the file holds, of any depth: PIL's path below then)
            if image is None:  # neither PIL nor the config's decoder: cv2's own depths (float TIFF ...)?
                return opencv_to_bgr(data)
        return pillow_to_bgr(image)


def open_with_pillow(data: bytes):
    """PIL's lazily opened image (the header is read, the pixels are not), or None where PIL does not know it."""
    from PIL import Image, UnidentifiedImageError

    try:
        return Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, SyntaxError, ValueError, OSError):  # not a format PIL knows, or a bad header
        return None


def holds_16_bit_colour(image) -> bool:
    """A PNG or TIFF of 16-bit colour samples, which PIL opens as 8-bit RGB(A) by dropping the low byte."""
    return any(';16' in str(getattr(tile, 'args', '')) for tile in image.tile) and not image.mode.startswith('I')


def pillow_to_bgr(image) -> np.ndarray:
    """A PIL image of any mode as (H, W, 3) uint8 BGR, oriented by its EXIF tag, transparency on :data:`BACKGROUND`."""
    from PIL import ImageOps

    image.load()
    rgb = to_rgb8(ImageOps.exif_transpose(image))
    return np.ascontiguousarray(rgb[..., ::-1])


def opencv_to_bgr(data: bytes) -> np.ndarray | None:
    """What cv2 decodes at its own depth and channel count (a float or 16-bit TIFF that PIL does not read) as
    (H, W, 3) uint8 BGR, scaled and composited as PIL's images are; None where cv2 does not know the bytes either."""
    import cv2

    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None or array.size == 0:
        return None
    if np.issubdtype(array.dtype, np.floating):
        array = scale_float(array)
    elif array.dtype != np.uint8:
        array = scale_16_bit(array)
    if array.ndim == 2 or array.shape[2] in (1, 2):  # grey, grey + alpha
        grey = array if array.ndim == 2 else array[..., 0]
        alpha = array[..., 1:2] if array.ndim == 3 and array.shape[2] == 2 else None
        array = grey_to_rgb(grey) if alpha is None else np.concatenate([grey_to_rgb(grey), alpha], axis=2)
    if array.shape[2] == 4:  # BGRA: the background is white, the same in either channel order
        array = composite(array, BACKGROUND)
    return np.ascontiguousarray(array[..., :3])


def to_rgb8(image) -> np.ndarray:
    """(H, W, 3) uint8 RGB from a loaded PIL image of any mode."""
    mode = image.mode
    if mode.startswith('I'):  # I;16, I;16B, I;16L (16-bit grey PNG, TIFF), I (32-bit integers)
        return grey_to_rgb(scale_16_bit(np.asarray(image)))
    if mode == 'F':
        return grey_to_rgb(scale_float(np.asarray(image)))
    if mode == 'LAB':
        return np.asarray(lab_to_rgb(image))
    if mode in ('RGBA', 'LA', 'PA', 'RGBa', 'La') or 'transparency' in image.info:
        return composite(np.asarray(image.convert('RGBA')), BACKGROUND)
    return np.asarray(image.convert('RGB'))


def scale_16_bit(values: np.ndarray) -> np.ndarray:
    """16-bit values (0..65535; others clipped) as 8-bit ones, rounded: 0 -> 0, 257 * k -> k, 65535 -> 255."""
    wide = np.clip(values.astype(np.int64), 0, 65535)
    return ((wide * 255 + 32767) // 65535).astype(np.uint8)


def scale_float(values: np.ndarray) -> np.ndarray:
    """Float values as 8-bit ones: [0, 1] when no value exceeds 1, else [0, 255]; NaN becomes 0."""
    values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
    if values.size and values.max() <= 1.0:
        values = values * 255.0
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[..., None], 3, axis=2)


def composite(rgba: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """RGBA (uint8) over an opaque background colour: ``round(rgb * a / 255 + background * (1 - a / 255))``."""
    alpha = rgba[..., 3:4].astype(np.uint32)
    back = np.asarray(background, dtype=np.uint32)
    mixed = rgba[..., :3].astype(np.uint32) * alpha + back * (255 - alpha)
    return ((mixed + 127) // 255).astype(np.uint8)


def lab_to_rgb(image):
    """A CIE LAB image in sRGB, through PIL's colour management (LittleCMS)."""
    from PIL import ImageCms

    transform = ImageCms.buildTransform(ImageCms.createProfile('LAB'), ImageCms.createProfile('sRGB'), 'LAB', 'RGB')
    return ImageCms.applyTransform(image, transform)
