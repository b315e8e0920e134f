"""The evaluation crop of the ImageNet-style configs gives mmpretrain's ResizeEdge + CenterCrop for any usual shape,
and for long strips the same crop without resizing the whole strip first."""

import numpy as np
import pytest
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

import mmmixer  # noqa: F401
from mmmixer.errors import ConfigValueError
from mmmixer.transforms import ResizeEdgeCenterCrop
from mmmixer.transforms.resize_crop import MAX_ASPECT


def two_steps(scale: int, crop: int, interpolation: str) -> Compose:
    init_default_scope('mmpretrain')
    return Compose([
        dict(type='ResizeEdge', scale=scale, edge='short', backend='pillow', interpolation=interpolation),
        dict(type='CenterCrop', crop_size=crop),
    ])  # fmt: skip


@pytest.mark.parametrize(
    ('scale', 'crop', 'interpolation'),
    [(256, 224, 'bicubic'), (261, 224, 'box'), (448, 384, 'box'), (256, 224, 'bilinear'), (64, 48, 'lanczos')],
)
def test_equals_resize_edge_then_center_crop_up_to_the_aspect_limit(scale, crop, interpolation):
    rng = np.random.default_rng(scale + crop)
    reference, ours = two_steps(scale, crop, interpolation), ResizeEdgeCenterCrop(scale, crop, interpolation)
    shapes = [(1, 1), (1, MAX_ASPECT), (7, 5), (crop, crop), (scale, scale + 1), (480, 640), (640, 480), (333, 1000)]
    shapes += [tuple(rng.integers(1, 700, size=2)) for _ in range(12)]
    for height, width in shapes:
        if max(height, width) > MAX_ASPECT * min(height, width):
            continue
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        expected = reference(dict(img=image.copy()))
        actual = ours(dict(img=image.copy()))
        assert np.array_equal(actual['img'], expected['img']), (height, width)
        assert actual['img_shape'] == expected['img_shape'] == (crop, crop)


@pytest.mark.parametrize('shape', [(8, 3000), (3000, 8), (1, 4096), (4096, 1), (60, 427)])
def test_long_strips_are_cropped_without_the_huge_intermediate_and_nearly_the_same_pixels(shape, monkeypatch):
    # A smooth picture (pixels close to their neighbours), as photos are: the crop's region resized alone rounds a
    # few pixels to the next grey level.
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    image = np.dstack([(x * 7 + y * 3) % 256, (x // 3) % 256, np.full(shape, 128)]).astype(np.uint8)
    from PIL import Image

    made, resize = [], Image.Image.resize
    monkeypatch.setattr(
        Image.Image, 'resize', lambda self, size, *a, **k: made.append(size) or resize(self, size, *a, **k)
    )
    actual = ResizeEdgeCenterCrop(256, 224, 'bicubic')(dict(img=image.copy()))['img']
    monkeypatch.undo()
    assert actual.shape == (224, 224, 3)
    # Only the crop is made (the whole resize would be 256x96000 pixels, 74 MB, for 8x3000; 805 MB for 1x4096).
    assert made == [(224, 224)]
    if max(shape) <= 3000:  # the two steps, for comparison, where they fit in memory comfortably
        expected = two_steps(256, 224, 'bicubic')(dict(img=image.copy()))['img']
        assert np.abs(actual.astype(int) - expected).max() <= 2


def test_refuses_impossible_settings_and_float_images():
    with pytest.raises(ConfigValueError, match='1 <= crop_size <= scale'):
        ResizeEdgeCenterCrop(224, 256)
    with pytest.raises(ConfigValueError, match="interpolation='area' is unknown"):
        ResizeEdgeCenterCrop(256, 224, 'area')
    with pytest.raises(ConfigValueError, match='drop to_float32'):
        ResizeEdgeCenterCrop(256, 224)(dict(img=np.zeros((300, 300, 3), np.float32)))
