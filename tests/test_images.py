"""Any image file decodes to 3 channels, 8 bits, BGR: transparency on white, 16 bits scaled, CMYK, palette, grey,
EXIF orientation; the common files keep the pixels of the config's own decoder; OpenCV prints nothing of its own."""

import io
import subprocess
import sys

import cv2
import mmcv
import numpy as np
import pytest
from PIL import Image

from mmmixer.broken_images import read_image
from mmmixer.images import decode_image


def encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def rgb(bgr: np.ndarray) -> np.ndarray:
    assert bgr.dtype == np.uint8 and bgr.ndim == 3 and bgr.shape[2] == 3
    return bgr[..., ::-1]


def test_transparent_pixels_are_composited_on_white():
    rgba = np.array([[[10, 20, 30, 255], [10, 20, 30, 0], [0, 0, 0, 128], [200, 100, 0, 51]]], np.uint8)
    decoded = rgb(decode_image(encoded(Image.fromarray(rgba, 'RGBA'), 'PNG')))
    # a * colour + (1 - a) * 255, rounded: opaque keeps its colour, transparent is white, half is mid-grey.
    expected = np.rint(rgba[..., :3] * (rgba[..., 3:] / 255) + 255 * (1 - rgba[..., 3:] / 255))
    assert decoded.tolist() == expected.astype(int).tolist()
    grey_alpha = Image.fromarray(np.array([[[0, 0], [0, 255]]], np.uint8), 'LA')
    assert rgb(decode_image(encoded(grey_alpha, 'PNG'))).tolist() == [[[255] * 3, [0] * 3]]


def test_transparent_palette_entries_and_transparent_grey_values_are_white():
    palette = Image.new('P', (2, 1))
    palette.putpalette([255, 0, 0, 0, 255, 0])
    palette.putpixel((1, 0), 1)
    assert rgb(decode_image(encoded(palette, 'PNG', transparency=1))).tolist() == [[[255, 0, 0], [255, 255, 255]]]
    assert rgb(decode_image(encoded(palette, 'GIF'))).tolist() == [[[255, 0, 0], [0, 255, 0]]]
    grey = Image.fromarray(np.array([[0, 100]], np.uint8))
    assert rgb(decode_image(encoded(grey, 'PNG', transparency=100))).tolist() == [[[0] * 3, [255] * 3]]


@pytest.mark.parametrize('format', ['PNG', 'TIFF'])
def test_16_bit_grey_is_scaled_to_8_bits(format):
    values = np.array([[0, 257, 257 * 128, 65535, 1000]], np.uint16)
    decoded = rgb(decode_image(encoded(Image.fromarray(values), format)))
    assert decoded[..., 0].tolist() == [[0, 1, 128, 255, 4]]  # round(v * 255 / 65535)
    assert (decoded == decoded[..., :1]).all()  # grey in all three channels


@pytest.mark.parametrize('extension', ['.png', '.tiff'])
def test_16_bit_colour_with_and_without_alpha_is_scaled(extension):
    colour = np.random.default_rng(0).integers(0, 65536, (6, 4, 3)).astype(np.uint16)  # BGR
    expected = np.rint(colour / 257).astype(np.uint8)  # rounded, where keeping the high byte would truncate
    assert np.array_equal(decode_image(cv2.imencode(extension, colour)[1].tobytes()), expected)
    with_alpha = np.concatenate([colour, np.full((6, 4, 1), 65535, np.uint16)], axis=2)
    with_alpha[0, 0, 3] = 0
    decoded = decode_image(cv2.imencode(extension, with_alpha)[1].tobytes())
    assert decoded[0, 0].tolist() == [255, 255, 255] and np.array_equal(decoded[1:], expected[1:])


def test_float_tiffs_are_scaled_from_0_1_or_0_255():
    unit = np.array([[0.0, 0.5, 1.0]], np.float32)
    assert rgb(decode_image(encoded(Image.fromarray(unit, 'F'), 'TIFF')))[..., 0].tolist() == [[0, 128, 255]]
    wide = np.array([[0.0, 100.4, 300.0]], np.float32)
    assert rgb(decode_image(encoded(Image.fromarray(wide, 'F'), 'TIFF')))[..., 0].tolist() == [[0, 100, 255]]
    colour = np.dstack([unit, unit, unit])  # a 3-channel float TIFF: cv2 reads it, PIL does not
    assert decode_image(cv2.imencode('.tiff', colour)[1].tobytes())[..., 0].tolist() == [[0, 128, 255]]


def test_cmyk_and_one_bit_and_lab_become_rgb():
    white_cmyk = Image.new('CMYK', (2, 2), (0, 0, 0, 0))
    black_cmyk = Image.new('CMYK', (2, 2), (0, 0, 0, 255))
    assert (rgb(decode_image(encoded(white_cmyk, 'JPEG', quality=100))) >= 254).all()
    assert (rgb(decode_image(encoded(black_cmyk, 'JPEG', quality=100))) <= 1).all()
    bilevel = Image.fromarray(np.array([[0, 255]], np.uint8)).convert('1')
    assert rgb(decode_image(encoded(bilevel, 'PNG'))).tolist() == [[[0] * 3, [255] * 3]]
    lab_white = Image.new('LAB', (1, 1), (255, 128, 128))  # L = 100, a = b = 0
    assert (rgb(decode_image(encoded(lab_white, 'TIFF'))) >= 250).all()


def exif_oriented(orientation: int) -> bytes:
    """A 2x3 PNG whose top-left pixel is red, stored with an EXIF orientation tag."""
    pixels = np.zeros((2, 3, 3), np.uint8)
    pixels[0, 0] = (255, 0, 0)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    return encoded(image, 'PNG', exif=exif.tobytes())


@pytest.mark.parametrize('mode', ['RGB', 'RGBA'])
@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_exif_orientation_is_applied(mode, backend):
    # Orientation 6: the stored picture is shown rotated 90 degrees clockwise, so its top-left goes to the top-right.
    data = exif_oriented(6)
    if mode == 'RGBA':
        data = encoded(
            Image.open(io.BytesIO(data)).convert('RGBA'), 'PNG', exif=Image.open(io.BytesIO(data)).info['exif']
        )
    decoded = rgb(decode_image(data, backend=backend))
    assert decoded.shape == (3, 2, 3)
    assert decoded[0, -1].tolist() == [255, 0, 0] and decoded.sum() == 255


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_common_images_keep_the_pixels_of_the_configs_decoder(backend):
    """8-bit RGB and grey files go through mmcv as before, so results on data sets that loaded already do not move."""
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (30, 40, 3), np.uint8))
    for data in (encoded(photo, 'JPEG', quality=80), encoded(photo, 'PNG'), encoded(photo.convert('L'), 'JPEG')):
        assert np.array_equal(decode_image(data, backend), mmcv.imfrombytes(data, backend=backend))


def test_files_that_are_not_images_are_reported_not_raised(tmp_path):
    (tmp_path / 'empty.png').write_bytes(b'')
    (tmp_path / 'text.png').write_text('not an image')
    photo = encoded(Image.new('RGB', (50, 50), (1, 2, 3)), 'PNG')
    (tmp_path / 'truncated.png').write_bytes(photo[: len(photo) // 2])
    assert read_image(str(tmp_path / 'empty.png')) == (None, 'is empty (0 bytes)')
    assert 'is not an image that cv2 can decode' in read_image(str(tmp_path / 'text.png'))[1]
    image, problem = read_image(str(tmp_path / 'truncated.png'))
    assert image is None and problem


@pytest.mark.slow
def test_opencv_prints_nothing_before_our_line_for_a_broken_file(tmp_path):
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(range(256)) * 4)  # a PNG signature, then garbage
    script = 'import sys; from mmmixer.broken_images import read_image; print(read_image(sys.argv[1])[1])'
    ours = subprocess.run([sys.executable, '-c', script, str(broken)], capture_output=True, text=True, check=True)
    assert ours.stderr == '' and ours.stdout.startswith('is not an image that cv2 can decode'), ours
    # Without the scoped silence, OpenCV writes its own lines (the reason for it), and after our decode its level is
    # the process's again.
    raw = 'import sys, cv2, numpy as np; cv2.imdecode(np.fromfile(sys.argv[1], np.uint8), cv2.IMREAD_COLOR)'
    script += f'; {raw.split("; ", 1)[1]}'
    after = subprocess.run([sys.executable, '-c', f'import cv2, numpy as np; {script}', str(broken)],
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert 'grfmt_png' in after.stderr
