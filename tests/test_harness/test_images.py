"""Generated image files through the real inference path: every size, PIL mode and bit depth, format, damage and
file name ends in a prediction or in one line naming the file, and no decoder prints anything of its own.

The path is :func:`mmmixer.apis.classify_images`, which ``mmmixer infer`` and ``demo/image_demo.py`` call, with the
demo config and random weights. An exception other than the one-line :class:`~mmmixer.errors.InputError` fails the
test with its traceback (Hypothesis prints the example and its seed). Deeper: ``HYPOTHESIS_PROFILE=deep pytest
tests/test_harness/test_images.py -m slow``.
"""

import io
import os
import tempfile
import warnings

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mmmixer.apis import Classifier, choose_model, classify_images
from mmmixer.errors import InputError
from tests.helpers import REPO
from tests.test_hub import save_demo_checkpoint

# What PIL writes, per format: the modes it saves as they are (others it refuses or converts).
PIL_MODES = {
    'PNG': ['1', 'L', 'P', 'RGB', 'RGBA', 'LA', 'I;16', 'I;16B'],
    'JPEG': ['L', 'RGB', 'CMYK'],
    'WEBP': ['L', 'RGB', 'RGBA', 'P'],
    'BMP': ['1', 'L', 'P', 'RGB'],
    'TIFF': ['1', 'L', 'P', 'RGB', 'RGBA', 'CMYK', 'YCbCr', 'LAB', 'I', 'F', 'LA', 'PA', 'I;16', 'I;16B'],
    'GIF': ['1', 'L', 'P', 'RGB'],
}
# What only OpenCV writes: 16-bit colour with and without alpha, float colour (dtype, channels).
CV2_DEPTHS = {'PNG': [('uint16', 3), ('uint16', 4)], 'TIFF': [('uint16', 3), ('uint16', 4), ('float32', 3)]}
SUFFIXES = {'PNG': '.png', 'JPEG': '.jpg', 'WEBP': '.webp', 'BMP': '.bmp', 'TIFF': '.tif', 'GIF': '.gif'}
EXIF_FORMATS = ('PNG', 'JPEG', 'WEBP', 'TIFF')


@pytest.fixture(scope='module')
def classifier(tmp_path_factory):
    import mmpretrain.utils.progress

    mmpretrain.utils.progress.disable_progress_bar = True
    checkpoint = tmp_path_factory.mktemp('weights') / 'demo.pth'
    save_demo_checkpoint(checkpoint)
    return Classifier(choose_model(str(REPO / 'configs/mixer-demo_digits.py'), str(checkpoint)), 'cpu')


def pil_file(format: str, mode: str, size: tuple[int, int], seed: int, orientation: int | None) -> bytes:
    """Random pixels of any mode: random bytes as the mode's raw data (NaN and huge values for F and I included)."""
    raw = np.random.default_rng(seed).integers(0, 256, len(Image.new(mode, size).tobytes()), dtype=np.uint8)
    image = Image.frombytes(mode, size, raw.tobytes())
    if mode in ('P', 'PA'):
        image.putpalette(np.random.default_rng(seed + 1).integers(0, 256, 768, dtype=np.uint8).tobytes())
    options = {}
    if orientation is not None:
        exif = image.getexif()
        exif[0x0112] = orientation
        options['exif'] = exif.tobytes()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # PIL's notes on modes it converts while saving
        image.save(buffer, format=format, **options)
    return buffer.getvalue()


def cv2_file(format: str, dtype: str, channels: int, size: tuple[int, int], seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0], channels)
    pixels = rng.random(shape, dtype=np.float32) if dtype == 'float32' else rng.integers(0, 65536, shape, np.uint16)
    ok, encoded = cv2.imencode(SUFFIXES[format], pixels)
    assert ok
    return encoded.tobytes()


@st.composite
def image_files(draw, max_side: int) -> tuple[str, bytes, bool]:
    """``(file name, content, undamaged)``: a format, a mode or depth, a size, maybe an EXIF orientation, maybe
    damage (truncated, empty, garbage after the header) and maybe a suffix that is wrong or missing."""
    format = draw(st.sampled_from(sorted(PIL_MODES)))
    side = st.integers(1, max_side)
    size = (draw(side), draw(side))
    seed = draw(st.integers(0, 2**16))
    depths = CV2_DEPTHS.get(format, [])
    if depths and draw(st.booleans()):
        dtype, channels = draw(st.sampled_from(depths))
        data = cv2_file(format, dtype, channels, size, seed)
    else:
        orientation = draw(st.none() | st.integers(1, 8)) if format in EXIF_FORMATS else None
        data = pil_file(format, draw(st.sampled_from(PIL_MODES[format])), size, seed, orientation)
    damage = draw(st.sampled_from(['none', 'none', 'truncated', 'empty', 'garbage']))
    if damage == 'truncated':
        data = data[: int(len(data) * draw(st.floats(0.0, 0.95)))]
    elif damage == 'empty':
        data = b''
    elif damage == 'garbage':
        data = data[:16] + np.random.default_rng(seed).integers(0, 256, 200, dtype=np.uint8).tobytes()
    suffix = draw(st.sampled_from([SUFFIXES[format], SUFFIXES[format].upper(), '.jpg', '.png', '.bin', '']))
    return f'image{suffix}', data, damage == 'none'


def check_classified_or_named(classifier, capfd, file) -> None:
    name, data, undamaged = file
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name)
        with open(path, 'wb') as f:
            f.write(data)
        capfd.readouterr()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            try:
                found = classify_images([path], classifier)
            except InputError as error:
                message = str(error)
                assert '\n' not in message and path in message, message
                assert not undamaged, f'an undamaged file was refused: {message}'
            else:
                scores = found.results[0].scores
                assert scores.shape == (10,) and np.isfinite(scores).all() and abs(scores.sum() - 1) < 1e-4
        assert not [str(w.message) for w in caught if 'mmpretrain' not in str(w.filename)]
        assert capfd.readouterr().err == ''  # no decoder's own log lines (OpenCV's, libpng's ...)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(file=image_files(max_side=48))
def test_small_image_files_of_every_kind_are_classified_or_named_in_one_line(classifier, capfd, file):
    check_classified_or_named(classifier, capfd, file)


@pytest.mark.slow
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(file=image_files(max_side=4096))
def test_image_files_up_to_4096_pixels_a_side_are_classified_or_named_in_one_line(classifier, capfd, file):
    check_classified_or_named(classifier, capfd, file)
