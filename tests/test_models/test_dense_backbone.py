"""Mixer as a dense-prediction backbone: any input size through windows, resized token-mixing weights, the pyramid
neck, layer-wise LR decay."""

from pathlib import Path

import pytest
import torch

from mmmixer.models import MixerPyramidNeck, MlpMixer, resize_token_mixing
from tests.helpers import randomize_

REPO = Path(__file__).resolve().parents[2]
DETECTION_CONFIGS = sorted((REPO / 'configs/detection').glob('*_coco.py'))
TINY = dict(embed_dims=32, num_layers=2, tokens_mlp_dims=16, channels_mlp_dims=64)


def mixer(**kwargs) -> MlpMixer:
    model = MlpMixer(**{'arch': TINY, 'img_size': 64, 'patch_size': 16, **kwargs})
    model.init_weights()
    return randomize_(model).eval()


# ----------------------------------------------------------------------------- windows
def test_window_equals_global_at_the_pretrained_size():
    model = mixer(img_size=224)  # the pretrained 14x14-token grid (B/16's), with a tiny width
    windowed = MlpMixer(arch=TINY, img_size=224, patch_size=16, token_mixing='window').eval()
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
    small = mixer(img_size=224)  # B/16's 14x14-token grid, with a tiny width
    state = resize_token_mixing(small.state_dict(), (14, 14), (28, 28), 'block_diagonal')
    wide_arch = {**TINY, 'tokens_mlp_dims': TINY['tokens_mlp_dims'] * 4}
    resized = MlpMixer(arch=wide_arch, img_size=448, patch_size=16).eval()
    resized.load_state_dict(state, strict=True)
    windowed = MlpMixer(arch=TINY, img_size=224, patch_size=16, token_mixing='window').eval()
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


def test_roi_features_from_the_pyramid_are_the_true_roi_align():
    # mmcv's RoIAlign reads raw NCHW memory: on a permuted (channels-last) view it returned scrambled
    # features and Mask R-CNN's RoI heads never learned. mmdet's extractor must equal torchvision's roi_align.
    from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
    from torchvision.ops import roi_align

    torch.manual_seed(0)
    neck = MixerPyramidNeck(in_channels=16, out_channels=8, scale_factors=(1.0, 0.5))
    levels = neck(torch.randn(2, 16, 16, 16))
    extractor = SingleRoIExtractor(
        roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0), out_channels=8, featmap_strides=[4, 8]
    )
    rois = torch.tensor([[0, 4.0, 6.0, 30.0, 40.0], [1, 10.0, 3.0, 50.0, 28.0]])  # small: both on stride 4
    expected = roi_align(levels[0], rois, 7, spatial_scale=1 / 4, sampling_ratio=0, aligned=True)
    torch.testing.assert_close(extractor(levels, rois), expected)


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
