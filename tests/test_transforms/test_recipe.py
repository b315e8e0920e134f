"""The ImageNet configs are the paper's recipe (big_vision configs/mlp_mixer_i1k.py), point by point.

Each test reads a value from the object the config builds and compares it with big_vision's own definition:
the formulas are written here from big_vision's code (file and function named in each test), and the image
ops are compared with TensorFlow's own outputs (tests/data/tf_randaugment_level15.npz, written by
tests/data/make_tf_reference.py with TensorFlow 2.15.1 running big_vision's pp/archive/autoaugment.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS, TRANSFORMS, init_default_scope
from skimage import data
from torch import nn

import mmmixer  # noqa: F401  (registers the models and transforms)
from mmmixer.models.builders import build_in_scope
from mmmixer.models.utils.layers import drop_path
from mmmixer.transforms import InceptionCrop, TFCutout
from tests.helpers import REPO

CONFIGS = ['configs/mixer-b16_in1k.py', 'configs/mixer-l16_in1k.py']
TF_REFERENCE = REPO / 'tests' / 'data' / 'tf_randaugment_level15.npz'
PHOTO = (slice(60, 124), slice(170, 234))  # the crop make_tf_reference.py gave TensorFlow (RGB)
RESIZE_SOURCE = (slice(100, 160), slice(150, 230))
TRANSLATE_SOURCE = {'TranslateX': (slice(60, 92), slice(100, 324)), 'TranslateY': (slice(40, 264), slice(170, 202))}

# big_vision pp/archive/autoaugment.py
MAX_LEVEL = 10.0
LEVEL = 15.0  # configs/mlp_mixer_i1k.py: randaug(2, 15)
CUTOUT_CONST, TRANSLATE_CONST = 40, 100  # distort_image_with_randaugment's HParams


def load(config: str) -> Config:
    return Config.fromfile(str(REPO / config))


def build_on_meta(model_cfg: dict) -> nn.Module:
    """The config's model as the Runner builds it, with parameters on the meta device (no memory, no init)."""
    with torch.device('meta'):
        return build_in_scope(model_cfg)


@pytest.fixture(scope='module')
def tf_reference():
    return np.load(TF_REFERENCE)


@pytest.fixture(scope='module')
def photo_bgr():
    return np.ascontiguousarray(data.chelsea()[PHOTO][..., ::-1])  # mmcv loads BGR


# ---------------------------------------------------------------- stochastic depth (big_vision models/mlp_mixer.py)
@pytest.mark.parametrize('config', CONFIGS)
def test_stochastic_depth_is_big_visions_ramp_without_rescaling(config):
    cfg = load(config)
    backbone = build_on_meta(cfg.model).backbone
    num_blocks = len(backbone.blocks)
    # MlpMixer.__call__: drop_p = (i / max(self.num_blocks - 1, 1)) * self.stoch_depth, stoch_depth = 0.1.
    expected = [(i / max(num_blocks - 1, 1)) * 0.1 for i in range(num_blocks)]
    assert [block.drop_path_rate for block in backbone.blocks] == pytest.approx(expected, abs=1e-12)
    assert expected[0] == 0.0 and expected[-1] == pytest.approx(0.1)
    # _stoch_depth_mask returns 1 - bernoulli(drop_p): the branch is multiplied by a bare 0/1 mask.
    assert not any(block.drop_path_scale_by_keep for block in backbone.blocks)


def test_backbone_defaults_stay_timm_and_mmpretrain_stochastic_depth():
    backbone = build_on_meta(dict(type='mmmixer.MlpMixer', arch='s', drop_path_rate=0.1))
    assert [block.drop_path_rate for block in backbone.blocks] == [0.1] * 8
    assert all(block.drop_path_scale_by_keep for block in backbone.blocks)


@pytest.mark.parametrize('scale_by_keep, kept_value', [(False, 1.0), (True, 1 / 0.75)])
def test_drop_path_without_rescaling_multiplies_by_a_bare_mask(scale_by_keep, kept_value):
    torch.manual_seed(0)
    branch = torch.ones(1, 4000, 1, 2)  # token-major: 4000 images
    out = drop_path(branch, 0.25, training=True, scale_by_keep=scale_by_keep)[0, :, 0, 0]
    kept = out != 0
    assert torch.all(out[kept] == kept_value)
    assert 0.72 < kept.float().mean() < 0.78


def test_block_uses_unscaled_stochastic_depth_in_training():
    torch.manual_seed(0)
    block = (
        build_in_scope(
            dict(
                type='mmmixer.MlpMixer',
                arch=dict(embed_dims=8, num_layers=2, tokens_mlp_dims=4, channels_mlp_dims=16),
                img_size=8,
                patch_size=4,
                drop_path_rate=0.5,
                drop_path_mode='linear',
                drop_path_scale_by_keep=False,
            )
        )
        .blocks[1]
        .train()
    )
    branch = torch.randn(4, 256, 1, 8)
    out = block.drop_path(branch)
    per_image = [out[:, i].equal(branch[:, i]) or not out[:, i].any() for i in range(256)]
    assert all(per_image)


# ---------------------------------------------------------------- weight decay (big_vision optax.py::make)
@pytest.mark.parametrize('config', CONFIGS)
def test_weight_decay_reaches_exactly_the_kernels(config):
    cfg = load(config)
    model = build_on_meta(cfg.model)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    decayed = {
        name
        for group in optim_wrapper.optimizer.param_groups
        for name, param in model.named_parameters()
        if group['weight_decay'] > 0 and any(param is p for p in group['params'])
    }
    # wd_mults defaults to [('.*/kernel$', 1.0)]: flax names the weights of Dense and Conv layers "kernel",
    # LayerNorm's "scale" and "bias", every layer's offset "bias".
    kernels = {f'{name}.weight' for name, module in model.named_modules() if isinstance(module, (nn.Linear, nn.Conv2d))}
    assert decayed == kernels
    assert 'head.fc.weight' in decayed and 'backbone.stem.proj.weight' in decayed
    rates = {group['weight_decay'] for group in optim_wrapper.optimizer.param_groups if group['weight_decay'] > 0}
    # add_decayed_weights(wd=1e-4) after scale(lr=1e-3): torch AdamW's lr * weight_decay must be 1e-4.
    assert len(rates) == 1 and rates.pop() == pytest.approx(1e-4 / 1e-3)
    assert {group['lr'] for group in optim_wrapper.optimizer.param_groups} == {1e-3}


# ------------------------------------------------ schedule (big_vision utils.create_learning_rate_schedule)
def test_learning_rate_follows_big_visions_schedule_every_step():
    cfg = load(CONFIGS[0])
    iters_per_epoch = -(-1_281_167 // 4096)  # ImageNet-1k's train set at batch 4096, last batch kept: 313
    param = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=cfg.optim_wrapper.optimizer.lr)
    schedulers = []
    for scheduler_cfg in cfg.param_scheduler:
        scheduler_cfg = dict(scheduler_cfg, optimizer=optimizer, epoch_length=iters_per_epoch)
        scheduler_cfg.pop('convert_to_iter_based')
        scheduler_type = PARAM_SCHEDULERS.get(scheduler_cfg.pop('type'))
        schedulers.append(scheduler_type.build_iter_from_epoch(**scheduler_cfg))
    total, warmup = 300 * iters_per_epoch, 32 * iters_per_epoch

    def big_vision_lr(step):  # base=1.0 relative schedule, times config.lr (optax.py::make)
        progress = min(max((step - warmup) / (total - warmup), 0.0), 1.0)
        multiplier = 1e-5 + (1.0 - 1e-5) * (1.0 - progress)  # decay_type='linear', linear_end=1e-5
        return 1e-3 * multiplier * min(1.0, step / warmup)

    worst = 0.0
    for step in range(total):
        if step > 0:
            worst = max(worst, abs(optimizer.param_groups[0]['lr'] - big_vision_lr(step)))
        optimizer.step()  # no gradient: nothing changes, but the schedulers see the usual order
        for scheduler in schedulers:
            scheduler.step()
    assert worst < 1e-3 * 2e-4  # mmengine's warm-up starts at 1e-4 of the lr instead of 0
    assert optimizer.param_groups[0]['lr'] == pytest.approx(1e-3 * 1e-5, rel=1e-2)


# ---------------------------------------------------------------- RandAugment (big_vision pp/archive/autoaugment.py)
def randaugment():
    init_default_scope('mmpretrain')
    pipeline = load(CONFIGS[0]).train_pipeline
    (randaug_cfg,) = [step for step in pipeline if step['type'] == 'RandAugment']
    return TRANSFORMS.build(randaug_cfg)


def apply(transform, image_bgr: np.ndarray) -> np.ndarray:
    return transform(dict(img=image_bgr.copy()))['img']


def test_randaugment_is_tensorflows_op_set_and_magnitudes_at_level_15():
    transform = randaugment()
    assert transform.num_policies == 2  # randaug(2, 15)
    ops = {}
    for op in transform.transforms:
        assert getattr(op, 'prob', 1.0) == 1.0, f'{op} is not always applied'
        name = type(op).__name__
        ops[f'{name}:{op.kind}' if hasattr(op, 'kind') else name] = op
    assert len(transform.transforms) == 16 == len(ops)
    # level_to_arg, one entry per available_ops of distort_image_with_randaugment.
    level = LEVEL / MAX_LEVEL
    assert ops['TFGeometric:rotate'].magnitude == pytest.approx(level * 30.0)
    assert ops['Posterize'].bits == int(level * 4)
    assert ops['TFSolarizeAdd'].addition == int(level * 110) and ops['TFSolarizeAdd'].threshold == 128
    for kind in ('color', 'contrast', 'brightness', 'sharpness'):
        assert ops[f'TFEnhance:{kind}'].factor == pytest.approx(level * 1.8 + 0.1)
    for kind in ('shear_x', 'shear_y'):
        assert ops[f'TFGeometric:{kind}'].magnitude == pytest.approx(level * 0.3)
    for kind in ('translate_x', 'translate_y'):
        assert ops[f'TFGeometric:{kind}'].magnitude == pytest.approx(level * TRANSLATE_CONST)
    assert all(op.random_negative_prob == 0.5 for key, op in ops.items() if key.startswith('TFGeometric'))
    assert ops['TFCutout'].pad_size == int(level * CUTOUT_CONST)
    # Solarize's threshold int(level * 256) = 384 reaches tf.where(image < threshold) as a uint8 constant: 128.
    assert int(level * 256) % 256 == ops['TFSolarize'].threshold == 128
    assert {'TFEqualize', 'Invert', 'TFAutoContrast'} <= set(ops)
    assert all(getattr(op, 'fill', 128) == 128 for op in ops.values())


def test_randaugment_picks_ops_uniformly_with_replacement():
    transform = randaugment()
    np.random.seed(0)
    counts = np.bincount(np.concatenate([transform.random_policy_indices() for _ in range(8000)]), minlength=16)
    assert counts.sum() == 16000
    assert counts.min() > 850 and counts.max() < 1150  # 1000 expected per op


DETERMINISTIC_OPS = {  # the config's op -> TensorFlow's
    'TFAutoContrast': 'AutoContrast',
    'TFEqualize': 'Equalize',
    'Invert': 'Invert',
    'Posterize': 'Posterize',
    'TFSolarize': 'Solarize',
    'TFSolarizeAdd': 'SolarizeAdd',
    'TFEnhance:color': 'Color',
    'TFEnhance:contrast': 'Contrast',
    'TFEnhance:brightness': 'Brightness',
    'TFEnhance:sharpness': 'Sharpness',
}
SIGNED_OPS = {
    'TFGeometric:rotate': 'Rotate',
    'TFGeometric:shear_x': 'ShearX',
    'TFGeometric:shear_y': 'ShearY',
    'TFGeometric:translate_x': 'TranslateX',
    'TFGeometric:translate_y': 'TranslateY',
}


def op_by_key(transform, key):
    for op in transform.transforms:
        name = type(op).__name__
        if (f'{name}:{op.kind}' if hasattr(op, 'kind') else name) == key:
            return op
    raise KeyError(key)


@pytest.mark.parametrize('key', sorted(DETERMINISTIC_OPS))
def test_each_op_gives_tensorflows_pixels(key, tf_reference, photo_bgr):
    op = op_by_key(randaugment(), key)
    expected_rgb = tf_reference[DETERMINISTIC_OPS[key]]
    np.testing.assert_array_equal(apply(op, photo_bgr)[..., ::-1], expected_rgb)


@pytest.mark.parametrize('key', sorted(SIGNED_OPS))
def test_each_geometric_op_gives_tensorflows_pixels_with_either_sign(key, tf_reference, photo_bgr):
    op = op_by_key(randaugment(), key)
    name = SIGNED_OPS[key]
    positive, negative = (tf_reference[name + sign] for sign in '+-')
    assert not np.array_equal(positive, negative)
    image = (
        np.ascontiguousarray(data.chelsea()[TRANSLATE_SOURCE[name]][..., ::-1])
        if name in TRANSLATE_SOURCE
        else photo_bgr
    )
    seen = set()
    np.random.seed(1)
    for _ in range(20):
        out = apply(op, image)[..., ::-1]
        if np.array_equal(out, positive):
            seen.add('+')
        else:
            np.testing.assert_array_equal(out, negative)
            seen.add('-')
    assert seen == {'+', '-'}


def test_cutout_is_a_clipped_120_pixel_square_of_128():
    image = np.ascontiguousarray(data.chelsea()[:224, :224][..., ::-1])
    image[image == 128] = 127  # so that every pixel of value 128 is the cutout's
    op = op_by_key(randaugment(), 'TFCutout')
    np.random.seed(3)
    sides = set()
    for _ in range(30):
        out = apply(op, image)
        changed = np.any(out != image, axis=2)
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        assert changed[top:bottom, left:right].all() and changed.sum() == (bottom - top) * (right - left)
        assert np.all(out[top:bottom, left:right] == 128)
        # autoaugment.cutout: rows max(0, c - 60) .. min(224, c + 60) for a centre c in [0, 224).
        for low, high in ((top, bottom), (left, right)):
            assert high - low <= 120
            assert low == 0 or high == 224 or high - low == 120
            centre = low + 60 if low > 0 else high - 60
            assert 0 <= centre < 224 and (max(0, centre - 60), min(224, centre + 60)) == (low, high)
        sides.add((bottom - top, right - left))
    assert (120, 120) in sides and len(sides) > 1  # whole squares and clipped ones


def test_cutout_centre_is_uniform_over_all_pixels():
    op = TFCutout(pad_size=60)
    np.random.seed(0)
    centres = np.array([op.sample_center(224, 100) for _ in range(20000)])
    assert centres[:, 0].min() == 0 and centres[:, 0].max() == 223
    assert centres[:, 1].min() == 0 and centres[:, 1].max() == 99


# ---------------------------------------------------------------- inception crop (big_vision pp/ops_image.py)
def inception_crop() -> InceptionCrop:
    init_default_scope('mmpretrain')
    pipeline = load(CONFIGS[0]).train_pipeline
    (crop_cfg,) = [step for step in pipeline if 'Crop' in step['type']]
    return TRANSFORMS.build(crop_cfg)


def test_inception_crop_samples_big_visions_area_and_aspect_ratio_ranges():
    crop = inception_crop()
    np.random.seed(0)
    height, width = 375, 500
    boxes = np.array([crop.sample_box(height, width) for _ in range(20000)])
    tops, lefts, heights, widths = boxes.T
    area = heights * widths / (height * width)
    ratio = widths / heights
    # get_decode_jpeg_and_inception_crop(size, area_min=5, area_max=100, ratio_min=0.75, ratio_max=1.33).
    assert area.min() >= 0.05 and area.max() <= 1.0
    assert area.min() < 0.052 and area.max() > 0.95
    # width = round(height * ratio): the realised ratio strays from the drawn one by at most 0.5 / height.
    assert np.all(ratio >= 0.75 - 0.5 / heights) and np.all(ratio <= 1.33 + 0.5 / heights)
    assert ratio.min() < 0.76 and ratio.max() > 1.32
    # A fitting crop is always found here (the whole-image fallback is for impossible ranges), and lies inside.
    assert np.all(tops + heights <= height) and np.all(lefts + widths <= width)
    # Aspect ratios are uniform (TensorFlow), not log-uniform (torchvision, mmpretrain): mean 1.04, not 1.02.
    assert abs(ratio.mean() - (0.75 + 1.33) / 2) < 0.01


def test_inception_crop_falls_back_to_the_whole_image():
    crop = InceptionCrop(area_range=(0.9, 1.0), aspect_ratio_range=(3.0, 3.0))
    assert crop.sample_box(100, 100) == (0, 0, 100, 100)


def test_inception_crop_resizes_like_tensorflow(tf_reference, monkeypatch):
    photo = np.ascontiguousarray(data.chelsea()[..., ::-1])
    rows, cols = RESIZE_SOURCE
    box = (rows.start, cols.start, rows.stop - rows.start, cols.stop - cols.start)
    for size in ((64, 64), (96, 72)):
        crop = InceptionCrop(size=size)
        monkeypatch.setattr(crop, 'sample_box', lambda height, width: box)
        results = crop(dict(img=photo.copy()))
        assert results['img_shape'] == size
        np.testing.assert_array_equal(results['img'][..., ::-1], tf_reference[f'Resize{size[0]}x{size[1]}'])


# ---------------------------------------------------------------- the whole train pipeline
@pytest.mark.parametrize('config', CONFIGS)
def test_train_pipeline_turns_a_jpeg_into_a_224_pixel_sample(config, tmp_path):
    from mmengine.dataset import Compose
    from PIL import Image

    path = tmp_path / 'chelsea.JPEG'
    Image.fromarray(data.chelsea()).save(path, quality=90)
    init_default_scope('mmpretrain')
    pipeline = Compose(load(config).train_pipeline)
    np.random.seed(0)
    samples = [pipeline(dict(img_path=str(path), gt_label=3)) for _ in range(20)]
    assert all(sample['inputs'].shape == (3, 224, 224) and sample['inputs'].dtype == torch.uint8 for sample in samples)
    assert len({sample['inputs'].float().mean().item() for sample in samples}) == 20  # every sample is augmented anew
