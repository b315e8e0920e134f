"""The recipe's image ops give TensorFlow's pixels on eight photos of eight sizes, not only on one small crop.

tests/data/tf_recipe_photos.npz was written by tests/data/make_tf_reference.py under TensorFlow 2.15.1 and
TensorFlow Addons 0.23.0 running big_vision's ``pp/archive/autoaugment.py`` and ``tf.image`` ops: crop boxes drawn by
``tf.image.sample_distorted_bounding_box`` and resized to 224 x 224 (big_vision's inception crop), every RandAugment
op at level 15 on those crops, and ``tf.io.decode_jpeg`` of three photos saved as JPEG (the bytes are stored). Large
outputs are stored as sha256 digests (tests/data/recipe_photos.digest).
"""

from __future__ import annotations

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import TRANSFORMS, init_default_scope

import mmmixer  # noqa: F401  (registers the transforms)
from mmmixer.errors import BrokenImageError, ConfigValueError
from mmmixer.transforms import InceptionCrop, LoadImageTF
from tests.data.recipe_photos import PHOTOS, digest, photo
from tests.helpers import REPO
from tests.test_transforms.test_recipe import DETERMINISTIC_OPS, SIGNED_OPS

REFERENCE = REPO / 'tests' / 'data' / 'tf_recipe_photos.npz'
JPEGS = ('coffee', 'camera', 'chelsea')


@pytest.fixture(scope='module')
def reference():
    return np.load(REFERENCE)


@pytest.fixture(scope='module')
def config_ops() -> dict:
    """The RandAugment ops that configs/mixer-b16_in1k.py builds, by name (``Type:kind`` for ours with a kind)."""
    init_default_scope('mmpretrain')
    pipeline = Config.fromfile(str(REPO / 'configs' / 'mixer-b16_in1k.py')).train_pipeline
    (randaug_cfg,) = [step for step in pipeline if step['type'] == 'RandAugment']
    ops = {}
    for op in TRANSFORMS.build(randaug_cfg).transforms:
        name = type(op).__name__
        ops[f'{name}:{op.kind}' if hasattr(op, 'kind') else name] = op
    return ops


def bgr(image_rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image_rgb[..., ::-1])  # mmcv's channel order


def test_the_reference_covers_eight_photo_sizes_including_imagenets_usual_one():
    sizes = {photo(name).shape[:2] for name in PHOTOS}
    assert len(sizes) == 8 and {(375, 500), (500, 375)} <= sizes


@pytest.mark.parametrize('name', sorted(PHOTOS))
def test_inception_crop_resizes_tensorflows_boxes_to_its_pixels(name, reference, monkeypatch):
    crop = InceptionCrop(size=224)
    image = bgr(photo(name))
    for box_key, expected_key in (('box0', 'crop224'), ('box1', 'crop224_small')):
        top, left, height, width = (int(v) for v in reference[f'{name}/{box_key}'])
        monkeypatch.setattr(crop, 'sample_box', lambda h, w, box=(top, left, height, width): box)
        out_rgb = np.ascontiguousarray(crop(dict(img=image.copy()))['img'][..., ::-1])
        expected = reference[f'{name}/{expected_key}']
        if expected.ndim == 3:
            np.testing.assert_array_equal(out_rgb, expected)
        else:
            assert digest(out_rgb) == str(expected), f'{name} {box_key} ({height}x{width} -> 224x224)'
    # box1 was drawn from 5-10 % of the area: smaller than 224 px, so the resize enlarges it.
    assert max(reference[f'{name}/box1'][2:]) < 224


@pytest.mark.parametrize('name', sorted(PHOTOS))
def test_every_randaugment_op_gives_tensorflows_pixels_on_a_224_crop(name, reference, config_ops):
    image = bgr(reference[f'{name}/crop224'])
    wrong = []
    for key, tf_name in DETERMINISTIC_OPS.items():
        out = config_ops[key](dict(img=image.copy()))['img']
        if digest(np.ascontiguousarray(out[..., ::-1])) != str(reference[f'{name}/{tf_name}']):
            wrong.append(tf_name)
    for key, tf_name in SIGNED_OPS.items():
        op = config_ops[key]
        for sign, suffix in ((1.0, '+'), (-1.0, '-')):
            op.signed_magnitude = lambda sign=sign, op=op: sign * op.magnitude
            out = op(dict(img=image.copy()))['img']
            if digest(np.ascontiguousarray(out[..., ::-1])) != str(reference[f'{name}/{tf_name}{suffix}']):
                wrong.append(tf_name + suffix)
        del op.signed_magnitude
    assert not wrong, f'differ from TensorFlow on {name}: {wrong}'


@pytest.mark.parametrize('name', JPEGS)
def test_jpegs_decode_to_tensorflows_pixels(name, reference, tmp_path):
    path = tmp_path / f'{name}.jpg'
    path.write_bytes(reference[f'jpeg/{name}'].tobytes())
    out = LoadImageTF()(dict(img_path=str(path)))
    assert out['img_shape'] == out['ori_shape'] == photo(name).shape[:2]
    assert digest(np.ascontiguousarray(out['img'][..., ::-1])) == str(reference[f'jpeg/{name}/decoded'])


def test_pil_decodes_other_pixels_than_tensorflow(reference):
    """Why the recipe does not load with PIL: its accurate IDCT is not TensorFlow's default fast one."""
    import io

    from PIL import Image

    decoded = np.asarray(Image.open(io.BytesIO(reference['jpeg/coffee'].tobytes())).convert('RGB'))
    assert digest(decoded) != str(reference['jpeg/coffee/decoded'])


def test_tf_loader_takes_other_formats_the_checked_way(tmp_path):
    from PIL import Image

    image = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / 'a.png')
    out = LoadImageTF()(dict(img_path=str(tmp_path / 'a.png')))
    np.testing.assert_array_equal(out['img'], image[..., ::-1])
    (tmp_path / 'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0 not a jpeg')
    with pytest.raises(BrokenImageError, match='broken.jpg'):
        LoadImageTF()(dict(img_path=str(tmp_path / 'broken.jpg')))
    with pytest.raises(ConfigValueError, match="color_type='grayscale'"):
        LoadImageTF(color_type='grayscale')
