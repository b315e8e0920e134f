"""Mixer as a detection backbone: any input size, windows, resized weights, pyramid neck, mmdet configs."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mmmixer.models import MixerPyramidNeck, MlpMixer, resize_token_mixing
from tests.helpers import randomize_, run

REPO = Path(__file__).resolve().parents[1]
DETECTION_CONFIGS = sorted((REPO / 'configs/detection').glob('*_coco.py'))
TINY = dict(embed_dims=32, num_layers=2, tokens_mlp_dims=16, channels_mlp_dims=64)


def mixer(**kwargs) -> MlpMixer:
    model = MlpMixer(**{'arch': TINY, 'img_size': 64, 'patch_size': 16, **kwargs})
    model.init_weights()
    return randomize_(model).eval()


# ----------------------------------------------------------------------------- windows
def test_window_equals_global_at_the_pretrained_size():
    model = mixer(arch='b', img_size=224)
    windowed = MlpMixer(arch='b', img_size=224, patch_size=16, token_mixing='window').eval()
    windowed.load_state_dict(model.state_dict())
    images = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(model(images)[0], windowed(images)[0])


def test_windows_are_independent():
    model = mixer(token_mixing='window')  # 4x4-token windows of 64x64 px
    images = torch.randn(1, 3, 128, 192)  # 2 x 3 windows
    perturbed = images.clone()
    perturbed[..., 64:128, 64:128] += torch.randn(1, 3, 64, 64)  # window (1, 1) only
    with torch.no_grad():
        (before,), (after,) = model(images), model(perturbed)
    changed = (before != after).any(dim=1)[0]  # (8, 12) token grid
    window_changed = changed.view(2, 4, 3, 4).any(-1).any(1)
    assert window_changed.tolist() == [[False, False, False], [False, True, False]]


def test_any_input_size_gives_the_matching_grid():
    model = MlpMixer(arch=TINY, img_size=224, patch_size=16, token_mixing='window', out_type='featmap').eval()
    with torch.no_grad():
        (featmap,) = model(torch.randn(1, 3, 320, 480))
    assert featmap.shape == (1, 32, 20, 30)
    model.out_type = 'raw'
    with torch.no_grad():
        (tokens,) = model(torch.randn(2, 3, 100, 50))  # smaller than one window, not a multiple of 16
    assert tokens.shape == (2, 7 * 4, 32)


def test_global_mode_rejects_other_sizes():
    with pytest.raises(ValueError, match='built for 64x64 inputs'):
        mixer()(torch.randn(1, 3, 96, 64))


# ----------------------------------------------------------------------------- resized weights
def test_block_diagonal_resize_equals_window_at_twice_the_size():
    small = mixer(arch='b', img_size=224)
    state = resize_token_mixing(small.state_dict(), (14, 14), (28, 28), 'block_diagonal')
    wide_arch = dict(embed_dims=768, num_layers=12, tokens_mlp_dims=384 * 4, channels_mlp_dims=3072)
    resized = MlpMixer(arch=wide_arch, img_size=448, patch_size=16).eval()
    resized.load_state_dict(state, strict=True)
    windowed = MlpMixer(arch='b', img_size=224, patch_size=16, token_mixing='window').eval()
    windowed.load_state_dict(small.state_dict())
    images = torch.randn(1, 3, 448, 448)
    with torch.no_grad():
        assert (resized(images)[0] - windowed(images)[0]).abs().max() < 1e-4


def test_bilinear_resize_to_any_grid_loads_and_runs():
    state = resize_token_mixing(mixer().state_dict(), (4, 4), (40, 40), 'bilinear')
    model = MlpMixer(arch=TINY, img_size=640, patch_size=16, out_type='featmap').eval()
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        (out,) = model(torch.randn(1, 3, 640, 640))
    assert out.shape == (1, 32, 40, 40) and torch.isfinite(out).all()


def test_pretrained_checkpoint_of_another_grid_is_resized_on_load(tmp_path):
    path = tmp_path / 'small.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in mixer().state_dict().items()}}, path)
    model = MlpMixer(
        arch=TINY,
        img_size=128,
        patch_size=16,
        init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'),
    )
    model.init_weights()
    assert model.blocks[0].mlp_tokens.fc1.weight.shape == (16, 64)
    expected = resize_token_mixing(mixer().state_dict(), (4, 4), (8, 8), 'bilinear')
    assert torch.equal(model.blocks[1].mlp_tokens.fc2.bias, expected['blocks.1.mlp_tokens.fc2.bias'])


def test_unsupported_resizes_are_clear_errors():
    state = mixer().state_dict()
    with pytest.raises(ValueError, match="not a multiple of 4x4 \\(use mode='bilinear'\\)"):
        resize_token_mixing(state, (4, 4), (6, 6), 'block_diagonal')
    with pytest.raises(ValueError, match="mode='nearest' is not supported"):
        resize_token_mixing(state, (4, 4), (8, 8), 'nearest')
    with pytest.raises(ValueError, match="token_mixing='local' is not supported"):
        mixer(token_mixing='local')


# ----------------------------------------------------------------------------- neck
def test_pyramid_neck_strides():
    neck = MixerPyramidNeck(in_channels=32, out_channels=8, num_extra_levels=1)
    outs = neck((torch.randn(2, 32, 10, 12),))
    assert [tuple(o.shape[-2:]) for o in outs] == [(40, 48), (20, 24), (10, 12), (5, 6), (3, 3)]
    assert all(o.shape[:2] == (2, 8) for o in outs)
    with pytest.raises(ValueError, match="out_type='featmap'"):
        neck(torch.randn(2, 120, 32))


def test_layer_wise_lr_decay_for_a_detector():
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    from mmmixer.analysis.complexity import build_model_from_config

    cfg = Config.fromfile(DETECTION_CONFIGS[-1])
    cfg.model.backbone.arch = TINY
    cfg.model.backbone.init_cfg = None
    cfg.model.neck.in_channels = 32
    detector = build_model_from_config(cfg)
    init_default_scope('mmdet')
    groups = build_optim_wrapper(detector, cfg.optim_wrapper).optimizer.param_groups
    by_name = {g['param_name']: g for g in groups}
    assert by_name['backbone.stem.proj.weight']['lr'] == pytest.approx(1e-4 * 0.7**3)
    assert by_name['backbone.blocks.1.mlp_tokens.fc1.weight']['lr'] == pytest.approx(1e-4 * 0.7)
    assert by_name['bbox_head.retina_cls.weight']['lr'] == pytest.approx(1e-4)


# ----------------------------------------------------------------------------- configs end to end
@pytest.mark.parametrize('config', DETECTION_CONFIGS, ids=lambda p: p.name)
def test_detection_configs_build_under_mmdet(config):
    from mmengine.config import Config

    from mmmixer.analysis.complexity import build_model_from_config

    cfg = Config.fromfile(config)
    assert cfg.default_scope == 'mmdet'
    cfg.model.backbone.init_cfg = None
    detector = build_model_from_config(cfg)
    assert isinstance(detector.backbone, MlpMixer) and detector.backbone.token_mixing == 'window'
    assert isinstance(detector.neck, MixerPyramidNeck)


def make_coco(root: Path, num_images: int = 2) -> Path:
    """A tiny COCO-format dataset with boxes and polygon masks."""
    rng = np.random.default_rng(0)
    (root / 'images').mkdir(parents=True)
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        height, width = 240, 320
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(root / f'images/{image_id}.jpg')
        images.append(dict(id=image_id, file_name=f'{image_id}.jpg', height=height, width=width))
        for k in range(2):
            x, y, w, h = 30 + 120 * k, 40 + 20 * k, 80, 90
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=1 + k,
                    bbox=[x, y, w, h],
                    area=w * h,
                    iscrowd=0,
                    segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]],
                )
            )
    categories = [dict(id=1, name='person'), dict(id=2, name='bicycle')]
    (root / 'annotations.json').write_text(
        json.dumps(dict(images=images, annotations=annotations, categories=categories))
    )
    return root


def tiny_detection_config(config: Path, folder: Path) -> Path:
    """The real config with a small Mixer (same windowed 14x14-token design), for CPU-sized tests."""
    path = folder / f'tiny_{config.name}'
    path.write_text(
        f"_base_ = ['{config}']\n"
        f'model = dict(backbone=dict(init_cfg=None, arch=dict(_delete_=True, **{TINY!r})), neck=dict(in_channels=32))\n'
    )
    return path


def detection_overrides(coco: Path) -> list[str]:
    overrides = [
        'train_cfg.max_epochs=1',
        'train_cfg.val_interval=10',
        'param_scheduler=[]',
        'default_hooks.logger.interval=1',
        'env_cfg.dist_cfg.backend=gloo',
    ]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        overrides += [
            f'{loader}.dataset.data_root={coco}/',
            f'{loader}.dataset.ann_file=annotations.json',
            f'{loader}.dataset.data_prefix.img=images/',
            f'{loader}.dataset.metainfo.classes=[person,bicycle]',
            f'{loader}.batch_size=1',
            f'{loader}.num_workers=0',
            f'{loader}.persistent_workers=False',
        ]
    for evaluator in ('val_evaluator', 'test_evaluator'):
        overrides.append(f'{evaluator}.ann_file={coco}/annotations.json')
    return overrides


@pytest.mark.slow
@pytest.mark.parametrize('config', DETECTION_CONFIGS, ids=lambda p: p.name)
def test_detection_train_iteration_and_coco_evaluation(tmp_path, config):
    coco = make_coco(tmp_path / 'coco')
    work_dir = tmp_path / 'work'
    overrides = detection_overrides(coco)
    # Two classes; and an untrained detector scores below the default 0.05: keep every box so that
    # COCO metrics are computed.
    if 'mask-rcnn' in config.name:
        overrides += [
            'model.roi_head.bbox_head.num_classes=2',
            'model.roi_head.mask_head.num_classes=2',
            'model.test_cfg.rcnn.score_thr=0.0',
        ]
    else:
        overrides += ['model.bbox_head.num_classes=2', 'model.test_cfg.score_thr=0.0']
    config = tiny_detection_config(config, tmp_path)
    _, output = run('tools/train.py', config, '--work-dir', work_dir, '--cfg-options', *overrides)
    losses = [float(value) for value in re.findall(r'\bloss: (\S+)', output)]
    assert losses and all(np.isfinite(losses)), output[-3000:]
    metrics_file = tmp_path / 'metrics.json'
    _, output = run('tools/test.py', config, work_dir / 'epoch_1.pth', '--work-dir', work_dir, '--out', metrics_file,
        '--cfg-options', *overrides)  # fmt: skip
    metrics = json.loads(metrics_file.read_text())
    print(f'{config.name}: losses {losses}; metrics {metrics}')
    assert 'coco/bbox_mAP' in metrics
    if 'mask-rcnn' in config.name:  # tiny_mask-rcnn_...
        assert 'coco/segm_mAP' in metrics
