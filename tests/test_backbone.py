"""MlpMixer backbone: parity with timm and mmpretrain, options, errors."""

import copy
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from torch import nn

from mmmixer.models import MlpMixer
from mmmixer.models.backbones.mlp_mixer import ARCH_ZOO
from mmmixer.models.utils import rename_mmpretrain_key
from mmmixer.models.utils.layers import drop_path
from tests.helpers import REPO, randomize_

TINY_ARCH = dict(embed_dims=32, num_layers=3, tokens_mlp_dims=16, channels_mlp_dims=64)


def tiny_mixer(**kwargs) -> MlpMixer:
    kwargs = {'arch': TINY_ARCH, 'img_size': 32, 'patch_size': 8, **kwargs}
    model = MlpMixer(**kwargs)
    model.init_weights()
    return randomize_(model)


# ----------------------------------------------------------------------------- parity
TIMM_VARIANTS = [
    ('mixer_s32_224', 's', 32),
    ('mixer_s16_224', 's', 16),
    ('mixer_b32_224', 'b', 32),
    ('mixer_b16_224', 'b', 16),
    ('mixer_l32_224', 'l', 32),
    ('mixer_l16_224', 'l', 16),
]


@pytest.mark.slow
@pytest.mark.parametrize(('timm_name', 'arch', 'patch'), TIMM_VARIANTS)
def test_matches_timm_final_features(timm_name, arch, patch):
    reference = randomize_(timm.create_model(timm_name, pretrained=False)).eval()
    ours = MlpMixer(arch=arch, patch_size=patch, out_type='raw').eval()
    backbone_state = {k: v for k, v in reference.state_dict().items() if not k.startswith('head.')}
    ours.load_state_dict(backbone_state, strict=True)

    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        expected = reference.forward_features(images)
        (actual,) = ours(images)
    assert actual.shape == expected.shape
    assert (actual - expected).abs().max().item() <= 1e-5


def test_default_numerics_follow_the_published_weights():
    model = MlpMixer(arch='s', patch_size=32)
    norms = [m for m in model.modules() if isinstance(m, nn.LayerNorm)]
    assert norms and all(norm.eps == 1e-6 for norm in norms)
    gelus = [m for m in model.modules() if isinstance(m, nn.GELU)]
    assert gelus and all(gelu.approximate == 'none' for gelu in gelus)
    tanh = MlpMixer(arch='s', patch_size=32, act_cfg=dict(type='GELU', approximate='tanh'))
    assert all(m.approximate == 'tanh' for m in tanh.modules() if isinstance(m, nn.GELU))


def _mmpretrain_classifier(backbone: dict, pool_dim: int = 1):
    from mmpretrain.registry import MODELS

    init_default_scope('mmpretrain')
    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=backbone,
            neck=dict(type='GlobalAveragePooling', dim=pool_dim),
            head=dict(type='LinearClsHead', num_classes=10, in_channels=TINY_ARCH['embed_dims']),
        )
    )


def test_mmpretrain_state_dict_loads_strictly_and_computes_the_same():
    """mmpretrain's own Mixer classifier (eps 1e-5, its key names) -> ours with its norm config."""
    theirs = randomize_(_mmpretrain_classifier(dict(type='MlpMixer', arch=TINY_ARCH, img_size=32, patch_size=8))).eval()
    ours = _mmpretrain_classifier(
        dict(type='mmmixer.MlpMixer', arch=TINY_ARCH, img_size=32, patch_size=8, norm_cfg=dict(type='LN'))
    ).eval()
    assert any(key.startswith('backbone.layers.0.token_mix') for key in theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)

    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        (their_tokens,) = theirs.backbone(images)  # (B, C, N)
        (our_tokens,) = ours.backbone(images)  # the same layout by default
        assert our_tokens.shape == their_tokens.shape
        assert (our_tokens - their_tokens).abs().max() <= 1e-6
        assert torch.allclose(ours(images, mode='tensor'), theirs(images, mode='tensor'), atol=1e-6)


def test_docs_name_table_is_the_rename_applied_on_load():
    """Every row of the name table in docs/mmpretrain.md, read from the file: what the table promises is what loads."""
    import re

    rows = re.findall(r'^\| `([\w.]+)` \| `([\w.]+)` \|$', (REPO / 'docs' / 'mmpretrain.md').read_text(), re.M)
    assert len(rows) == 9
    for theirs, ours in rows:
        for suffix in ('weight', 'bias'):
            assert rename_mmpretrain_key(f'{theirs.replace("N", "7")}.{suffix}') == f'{ours.replace("N", "7")}.{suffix}'


def test_mmpretrain_key_renames():
    """Names as mmpretrain's checkpoints hold them, at several block indices; ours pass through."""
    assert rename_mmpretrain_key('patch_embed.projection.weight') == 'stem.proj.weight'
    assert rename_mmpretrain_key('patch_embed.norm.weight') == 'stem.norm.weight'
    assert rename_mmpretrain_key('layers.2.ln1.weight') == 'blocks.2.norm1.weight'
    assert rename_mmpretrain_key('layers.4.token_mix.layers.1.weight') == 'blocks.4.mlp_tokens.fc2.weight'
    assert rename_mmpretrain_key('layers.5.channel_mix.layers.0.0.weight') == 'blocks.5.mlp_channels.fc1.weight'
    assert rename_mmpretrain_key('layers.11.token_mix.layers.0.0.bias') == 'blocks.11.mlp_tokens.fc1.bias'
    assert rename_mmpretrain_key('layers.3.channel_mix.layers.1.weight') == 'blocks.3.mlp_channels.fc2.weight'
    assert rename_mmpretrain_key('layers.0.ln2.weight') == 'blocks.0.norm2.weight'
    assert rename_mmpretrain_key('ln1.bias') == 'norm.bias'
    assert rename_mmpretrain_key('blocks.0.norm1.weight') == 'blocks.0.norm1.weight'


# ----------------------------------------------------------------------------- registry
@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet'])
def test_builds_by_prefixed_name_from_other_scopes(scope):
    import mmdet.registry
    import mmpretrain.registry

    registry = {'mmpretrain': mmpretrain.registry.MODELS, 'mmdet': mmdet.registry.MODELS}[scope]
    init_default_scope(scope)
    model = registry.build(dict(type='mmmixer.MlpMixer', arch=TINY_ARCH, img_size=32, patch_size=8))
    assert isinstance(model, MlpMixer)


# ----------------------------------------------------------------------------- arch
@pytest.mark.parametrize(
    ('arch', 'patch', 'params'),
    [('b', 16, 59_880_472 - 769_000), ('l', 16, 208_196_168 - 1_025_000)],
)
def test_parameter_counts_match_the_paper(arch, patch, params):
    """vit_jax pins B/16 at 59,880,472 and L/16 at 208,196,168 with a 1000-class head."""
    with torch.device('meta'):  # shapes only: no memory, no initialisation
        model = MlpMixer(arch=arch, patch_size=patch)
    assert sum(p.numel() for p in model.parameters()) == params


def test_arch_aliases_and_custom_arch():
    assert ARCH_ZOO['h'] == ARCH_ZOO['huge'] and ARCH_ZOO['h']['embed_dims'] == 1280
    assert MlpMixer(arch='SMALL', patch_size=32).num_layers == 8
    with pytest.raises(ValueError, match=r"missing keys \['channels_mlp_dims'\]"):
        MlpMixer(arch=dict(embed_dims=8, num_layers=1, tokens_mlp_dims=4))
    with pytest.raises(ValueError, match="arch='xl' is unknown"):
        MlpMixer(arch='xl')


# ----------------------------------------------------------------------------- outputs
def test_out_indices_positive_negative_and_out_types():
    model = tiny_mixer(out_indices=[0, -1], out_type='featmap').eval()
    images = torch.randn(2, 3, 32, 32)
    first, last = model(images)
    assert first.shape == last.shape == (2, 32, 4, 4)
    assert model.out_indices == [0, 2]

    model.out_type = 'flat_featmap'
    _, flat_last = model(images)
    assert torch.equal(flat_last, last.flatten(2))

    model.out_type = 'raw'
    raw_first, raw_last = model(images)
    assert raw_last.shape == (2, 16, 32)
    assert torch.equal(raw_last, last.flatten(2).transpose(1, 2))
    model.out_type = 'avg_featmap'
    _, pooled = model(images)
    assert torch.allclose(pooled, last.mean((2, 3)), atol=1e-6)


@pytest.mark.parametrize('out_type', ['flat_featmap', 'featmap', 'raw', 'avg_featmap'])
@pytest.mark.parametrize(('token_mixing', 'size', 'batch'), [('global', 32, 1), ('global', 32, 3), ('window', 44, 2)])
def test_in_place_inference_equals_the_autograd_path(out_type, token_mixing, size, batch):
    # Under no_grad the blocks add their residuals into the activations in place; every returned
    # feature (intermediate ones too) must equal the out-of-place path bit for bit.
    model = tiny_mixer(out_indices=[0, 1, 2], out_type=out_type, token_mixing=token_mixing).eval()
    images = torch.randn(batch, 3, size, size)
    untouched = images.clone()
    with torch.no_grad():
        inferred = model(images)
    reference = model(images)  # grad enabled: out-of-place
    assert torch.equal(images, untouched)
    assert reference[0].requires_grad and not inferred[0].requires_grad
    for actual, expected in zip(inferred, reference, strict=True):
        assert torch.equal(actual, expected)


@pytest.mark.parametrize('training', [True, False])
def test_compiles_as_one_graph(training):
    # fullgraph=True fails on any graph break; aot_eager traces forward (and backward) like inductor
    # does, without spending a minute generating C++.
    torch._dynamo.reset()
    model = tiny_mixer(out_indices=[0, 2], drop_path_rate=0.0).train(training)
    compiled = torch.compile(model, fullgraph=True, backend='aot_eager')
    images = torch.randn(2, 3, 32, 32)
    with torch.set_grad_enabled(training):
        actual, expected = compiled(images), model(images)
    for a, e in zip(actual, expected, strict=True):
        assert torch.allclose(a, e, atol=1e-6)
    if training:
        actual[-1].sum().backward()
        assert model.stem.proj.weight.grad is not None


def test_final_norm_applies_to_the_last_block_only():
    with_norm = tiny_mixer(out_type='raw').eval()
    without = tiny_mixer(out_type='raw', final_norm=False).eval()
    without.load_state_dict({k: v for k, v in with_norm.state_dict().items() if not k.startswith('norm.')})
    images = torch.randn(1, 3, 32, 32)
    (normed,) = with_norm(images)
    (plain,) = without(images)
    assert torch.allclose(with_norm.norm(plain), normed, atol=1e-6)


@pytest.mark.parametrize('bad', [3, -4, [0, 7]])
def test_out_indices_out_of_range_is_a_clear_error(bad):
    with pytest.raises(ValueError, match='out of range for 3 blocks'):
        tiny_mixer(out_indices=bad)


def test_wrong_input_size_names_the_expected_size():
    model = tiny_mixer()
    with pytest.raises(ValueError, match=r'built for 32x32 inputs .* got 40x32.*token_mixing=.window.'):
        model(torch.randn(1, 3, 40, 32))


def test_image_classifier_with_either_layout():
    # The default (B, C, N) tokens pool over dim 1, as mmpretrain's configs do; NCHW maps over dim 2.
    default = _mmpretrain_classifier(dict(type='mmmixer.MlpMixer', arch=TINY_ARCH, img_size=32, patch_size=8))
    nchw = _mmpretrain_classifier(
        dict(type='mmmixer.MlpMixer', arch=TINY_ARCH, img_size=32, patch_size=8, out_type='featmap'), pool_dim=2
    )
    nchw.load_state_dict(default.state_dict())
    images = torch.randn(2, 3, 32, 32)
    logits = default(images, mode='tensor')
    assert logits.shape == (2, 10)
    assert torch.allclose(nchw(images, mode='tensor'), logits, atol=1e-6)


# ----------------------------------------------------------------------------- training options
def test_drop_path_rate_defaults_to_timms_and_mmpretrains_uniform_rate():
    """timm's and mmpretrain's MlpMixer give every block the configured rate, and so does ours by default (the
    paper's code ramps it instead: ``drop_path_mode='linear'``, checked against big_vision in test_recipe.py)."""
    from mmpretrain.models import MlpMixer as MmpretrainMlpMixer
    from timm.models.mlp_mixer import MlpMixer as TimmMlpMixer

    timm_model = TimmMlpMixer(img_size=32, patch_size=8, num_blocks=3, embed_dim=32, drop_path_rate=0.2)
    timm_rates = [block.drop_path.drop_prob for block in timm_model.blocks]
    theirs = MmpretrainMlpMixer(arch=TINY_ARCH, img_size=32, patch_size=8, drop_path_rate=0.2)
    their_rates = [layer.token_mix.dropout_layer.drop_prob for layer in theirs.layers]
    assert timm_rates == their_rates == pytest.approx([0.2] * 3)

    ours = tiny_mixer(drop_path_rate=0.2)
    assert [block.drop_path_rate for block in ours.blocks] == pytest.approx(timm_rates)
    ramp = tiny_mixer(drop_path_rate=0.2, drop_path_mode='linear')
    assert [block.drop_path_rate for block in ramp.blocks] == pytest.approx([0.0, 0.1, 0.2])
    with pytest.raises(ValueError, match=r'drop_path_rate=1.5 is not a probability'):
        tiny_mixer(drop_path_rate=1.5)


def test_drop_path_drops_whole_images_in_training_only():
    block = tiny_mixer(drop_path_rate=1.0).blocks[0]
    x = torch.randn(16, 4, 1, 32, requires_grad=True)  # (tokens, images, windows, channels)
    block.train()
    # With keep probability 0 every residual branch is dropped: the block is the identity, not NaN.
    out = block(x)
    assert torch.equal(out, x)
    out.square().sum().backward()
    assert torch.equal(x.grad, 2 * x.detach())
    assert torch.equal(block.mlp_tokens.fc1.weight.grad, torch.zeros_like(block.mlp_tokens.fc1.weight))
    block.eval()
    assert not torch.equal(block(x), x)


def test_drop_path_keeps_the_expected_value():
    dropped = drop_path(torch.ones(1, 20000, 1, 1), 0.25, training=True)[0, :, 0, 0]
    assert torch.equal(dropped.unique(), torch.tensor([0.0, 1 / 0.75]))
    assert dropped.mean().item() == pytest.approx(1.0, abs=0.03)


def test_full_model_trains_with_drop_path_rate_one():
    """Every residual branch dropped: the backbone is the stem and the final norm; a step is finite and moves
    only those, and the blocks get zero gradients (not NaN)."""
    model = tiny_mixer(drop_path_rate=1.0).train()
    stem_before = model.stem.proj.weight.detach().clone()
    (features,) = model(torch.randn(2, 3, 32, 32))
    features.square().mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    assert all(not p.grad.any() for p in model.blocks.parameters())
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert not torch.equal(model.stem.proj.weight, stem_before)


def test_frozen_stages_freeze_and_stay_in_eval():
    model = tiny_mixer(frozen_stages=2)
    assert model.train() is model and model.eval() is model  # chaining works
    model.train()
    frozen = [model.stem, model.blocks[0], model.blocks[1]]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(not m.training for m in frozen)
    assert all(p.requires_grad for p in model.blocks[2].parameters())
    assert model.blocks[2].training and model.norm.weight.requires_grad

    model(torch.randn(2, 3, 32, 32))[0].sum().backward()
    assert all(p.grad is None for m in frozen for p in m.parameters())
    assert model.blocks[2].mlp_tokens.fc1.weight.grad is not None
    everything = tiny_mixer(frozen_stages=3)
    assert not everything.norm.weight.requires_grad


def test_with_cp_gives_the_same_gradients():
    plain = tiny_mixer().train()
    checkpointed = tiny_mixer(with_cp=True).train()
    checkpointed.load_state_dict(plain.state_dict())
    images = torch.randn(2, 3, 32, 32)
    for model in (plain, checkpointed):
        model(images)[0].square().sum().backward()
    for (name, a), (_, b) in zip(plain.named_parameters(), checkpointed.named_parameters(), strict=True):
        assert torch.allclose(a.grad, b.grad, atol=1e-6), name


def test_get_layer_depth_for_layer_wise_lr_decay():
    model = tiny_mixer()
    assert model.get_layer_depth('backbone.stem.proj.weight', 'backbone.') == (0, 5)
    assert model.get_layer_depth('backbone.blocks.2.norm1.weight', 'backbone.') == (3, 5)
    assert model.get_layer_depth('backbone.layers.1.ln1.weight', 'backbone.') == (2, 5)  # mmpretrain names
    assert model.get_layer_depth('backbone.norm.weight', 'backbone.') == (4, 5)
    assert model.get_layer_depth('head.fc.weight', 'backbone.') == (4, 5)


def test_timm_style_init():
    model = MlpMixer(arch=TINY_ARCH, img_size=32, patch_size=8)
    model.init_weights()
    fc = model.blocks[0].mlp_channels.fc1
    bound = (6 / (fc.in_features + fc.out_features)) ** 0.5
    assert fc.weight.abs().max() <= bound and fc.weight.std() > bound / 3
    assert 0 < fc.bias.abs().max() < 1e-5
    assert torch.equal(model.norm.weight, torch.ones(32))


def test_pretrained_init_cfg_loads_a_checkpoint(tmp_path):
    source = tiny_mixer()
    path = tmp_path / 'backbone.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}}, path)
    model = MlpMixer(
        arch=TINY_ARCH,
        img_size=32,
        patch_size=8,
        init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'),
    )
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_unsupported_options_are_clear_errors():
    with pytest.raises(ValueError, match="norm_cfg type='BN'"):
        tiny_mixer(norm_cfg=dict(type='BN'))
    with pytest.raises(ValueError, match=r"patch_cfg keys \['foo'\]"):
        tiny_mixer(patch_cfg=dict(foo=1))
    with pytest.raises(ValueError, match="out_type='nchw'"):
        tiny_mixer(out_type='nchw')
    with pytest.raises(ValueError, match='layer_cfgs has 2 entries'):
        tiny_mixer(layer_cfgs=[{}, {}])
    with pytest.raises(ValueError, match=r"layer_cfgs\[0\] sets \['embed_dims', 'num_tokens'\], which the"):
        tiny_mixer(layer_cfgs=dict(num_tokens=4, embed_dims=8))
    with pytest.raises(ValueError, match=r"layer_cfgs\[2\] sets \['num_tokens'\]"):
        tiny_mixer(layer_cfgs=[{}, {}, dict(num_tokens=4)])


@pytest.mark.parametrize('name', ['s32', 's16', 'b32', 'b16', 'l32', 'l16', 'h14'])
def test_model_base_configs_match_the_paper_table(name):

    from mmengine.config import Config

    path = REPO / f'configs/_base_/models/mixer_{name}.py'
    model = Config.fromfile(path, import_custom_modules=False).model
    arch, patch = name[0], int(name[1:])
    assert (model.backbone.arch, model.backbone.patch_size) == (arch, patch)
    assert model.head.in_channels == ARCH_ZOO[arch]['embed_dims'] and model.head.num_classes == 1000


# ----------------------------------------------------------------------------- windows and the token grid
def swin_style_reference(model: MlpMixer, images: torch.Tensor) -> torch.Tensor:
    """Windowed Mixer written out with plain torch ops, padding per block as Swin does.

    The residual stream lives on the token grid only. Each block normalises it, zero-pads the normalised
    tokens to whole windows, mixes the tokens of each window, crops back to the grid and adds; channel
    mixing needs no padding. Returns the (B, C, H, W) map after the final norm.
    """
    patch_h, patch_w = model.patch_size
    pad_h, pad_w = -images.shape[-2] % patch_h, -images.shape[-1] % patch_w
    padded = F.pad(images, (0, pad_w, 0, pad_h))
    x = F.conv2d(padded, model.stem.proj.weight, model.stem.proj.bias, stride=model.patch_size)
    x = x.permute(0, 2, 3, 1)  # (B, H, W, C)
    b, h, w, c = x.shape
    wh, ww = model.patch_resolution
    rows, cols = -(-h // wh), -(-w // ww)

    def layer_norm(t, norm):
        return F.layer_norm(t, (c,), norm.weight, norm.bias, norm.eps)

    def mlp(t, module):
        return F.linear(F.gelu(F.linear(t, module.fc1.weight, module.fc1.bias)), module.fc2.weight, module.fc2.bias)

    for block in model.blocks:
        normed = F.pad(layer_norm(x, block.norm1), (0, 0, 0, cols * ww - w, 0, rows * wh - h))
        windows = normed.view(b, rows, wh, cols, ww, c).permute(0, 1, 3, 5, 2, 4).reshape(b, rows, cols, c, wh * ww)
        mixed = mlp(windows, block.mlp_tokens).view(b, rows, cols, c, wh, ww)
        mixed = mixed.permute(0, 1, 4, 2, 5, 3).reshape(b, rows * wh, cols * ww, c)[:, :h, :w]
        x = x + mixed
        x = x + mlp(layer_norm(x, block.norm2), block.mlp_channels)
    return layer_norm(x, model.norm).permute(0, 3, 1, 2)


@pytest.mark.parametrize('size', [(40, 56), (44, 60), (24, 20)])
def test_window_padding_is_per_block_like_swin(size):
    # 4x4-token windows; 40x56 px is a 5x7 grid (3 of 4 windows overhang), 44x60 px is not even a multiple of
    # the patch, 24x20 px is smaller than one window.
    model = tiny_mixer(token_mixing='window', out_type='featmap').eval()
    images = torch.randn(2, 3, *size)
    expected = swin_style_reference(model, images)
    (autograd,) = model(images)
    with torch.no_grad():
        (in_place,) = model(images)
    assert autograd.shape == expected.shape == (2, 32, -(-size[0] // 8), -(-size[1] // 8))
    assert (autograd - expected).abs().max() <= 1e-5
    assert torch.equal(in_place, autograd)


def test_padded_windows_train_like_the_reference():
    model = tiny_mixer(token_mixing='window', out_type='featmap').train()
    images = torch.randn(2, 3, 40, 56)
    model(images)[0].square().sum().backward()
    ours = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad()
    swin_style_reference(model, images).square().sum().backward()
    for name, p in model.named_parameters():
        assert torch.allclose(ours[name], p.grad, atol=1e-4, rtol=1e-4), name


def test_one_grid_rule_when_img_size_is_not_a_multiple_of_the_patch():
    """36 px with 8 px patches: both modes and mmpretrain cover the image with a 5x5 grid (the last
    patch zero-padded), so global and window mixing are the same function at img_size."""
    from mmpretrain.models import MlpMixer as MmpretrainMlpMixer

    theirs = randomize_(MmpretrainMlpMixer(arch=TINY_ARCH, img_size=36, patch_size=8))
    theirs.eval()  # (mmpretrain's backbones return None from train())
    ours = tiny_mixer(img_size=36, norm_cfg=dict(type='LN')).eval()
    windowed = tiny_mixer(img_size=36, norm_cfg=dict(type='LN'), token_mixing='window').eval()
    assert ours.patch_resolution == windowed.patch_resolution == tuple(theirs.patch_resolution) == (5, 5)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    windowed.load_state_dict(theirs.state_dict(), strict=True)
    images = torch.randn(2, 3, 36, 36)
    with torch.no_grad():
        (expected,) = theirs(images)
        (global_out,) = ours(images)
        (window_out,) = windowed(images)
    assert (global_out - expected).abs().max() <= 1e-5
    assert torch.equal(window_out, global_out)


def test_patch_padding_modes():
    corner = tiny_mixer(img_size=36)
    same = tiny_mixer(img_size=36, patch_cfg=dict(padding='same'))
    floor = tiny_mixer(img_size=36, patch_cfg=dict(padding=0))
    assert corner.patch_resolution == same.patch_resolution == (5, 5) and floor.patch_resolution == (4, 4)
    same.load_state_dict(corner.state_dict())
    images = torch.randn(1, 3, 36, 36)
    centred = F.pad(images, (2, 2, 2, 2))  # 'same' puts 2 of the 4 padding pixels on each side
    with torch.no_grad():
        assert torch.allclose(same.stem(images), corner.stem.proj(centred), atol=1e-6)
    with pytest.raises(ValueError, match="padding='valid' is not supported"):
        tiny_mixer(patch_cfg=dict(padding='valid'))


# ----------------------------------------------------------------------------- hooks and swapped modules
def test_forward_hooks_see_what_the_autograd_path_computes():
    model = tiny_mixer(out_indices=[0, 1, 2]).eval()
    seen: dict[str, list[torch.Tensor]] = {'block 1 output': [], 'block 2 norm1 input': [], 'block 0 token fc1': []}
    model.blocks[1].register_forward_hook(lambda m, args, out: seen['block 1 output'].append(out))
    model.blocks[2].norm1.register_forward_hook(lambda m, args, out: seen['block 2 norm1 input'].append(args[0]))
    model.blocks[0].mlp_tokens.fc1.register_forward_hook(lambda m, args, out: seen['block 0 token fc1'].append(out))
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        inferred = model(images)
    reference = model(images)
    for name, (no_grad_capture, grad_capture) in seen.items():
        assert torch.equal(no_grad_capture, grad_capture), name
    for actual, expected in zip(inferred, reference, strict=True):
        assert torch.equal(actual, expected)


def test_global_forward_hooks_see_every_linear():
    model = tiny_mixer().eval()
    called = []
    handle = torch.nn.modules.module.register_module_forward_hook(
        lambda module, args, out: called.append(module) if isinstance(module, nn.Linear) else None
    )
    try:
        with torch.no_grad():
            model(torch.randn(1, 3, 32, 32))
    finally:
        handle.remove()
    assert len(called) == 4 * len(model.blocks)  # fc1 and fc2 of both MLPs


class DoubledLinear(nn.Linear):
    """Stands for LoRA / quantised Linear layers: a subclass with its own forward."""

    calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        DoubledLinear.calls += 1
        return 2 * super().forward(x)


def _doubled(linear: nn.Linear) -> DoubledLinear:
    swapped = DoubledLinear(linear.in_features, linear.out_features)
    swapped.load_state_dict(linear.state_dict())
    return swapped


@pytest.mark.parametrize('grad', [False, True])
def test_swapped_linear_layers_are_called(grad):
    model = tiny_mixer().eval()
    reference = tiny_mixer().eval()
    reference.load_state_dict(model.state_dict())
    model.blocks[0].mlp_tokens.fc1 = _doubled(model.blocks[0].mlp_tokens.fc1)
    model.blocks[1].mlp_channels.fc2 = _doubled(model.blocks[1].mlp_channels.fc2)
    with torch.no_grad():  # the plain model with the same doubling folded into the weights
        for fc in (reference.blocks[0].mlp_tokens.fc1, reference.blocks[1].mlp_channels.fc2):
            fc.weight.mul_(2)
            fc.bias.mul_(2)
    DoubledLinear.calls = 0
    images = torch.randn(2, 3, 32, 32)
    with torch.set_grad_enabled(grad):
        (actual,) = model(images)
        (expected,) = reference(images)
    assert DoubledLinear.calls == 2
    assert torch.allclose(actual, expected, atol=1e-5)


# ----------------------------------------------------------------------------- checkpoints of another grid
def test_non_square_checkpoint_grid_names_both_sizes():
    source = tiny_mixer(img_size=(32, 48))  # a 4x6 token grid: 24 tokens
    model = tiny_mixer()  # 4x4
    message = (
        r'token-mixing MLP \(blocks.0.mlp_tokens.fc1.weight\) mixes 24 tokens, a grid that is not square.*'
        r'this model mixes 16 tokens \(a 4x4 grid: img_size 32x32, patch 8x8\).*resize_token_mixing'
    )
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(source.state_dict())


# ----------------------------------------------------------------------------- the ImageNet recipe


def big_vision_sigmoid_xent(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """big_vision's ``sigmoid_xent``: binary cross-entropy summed over classes, averaged over images."""
    per_class = labels * F.logsigmoid(logits) + (1 - labels) * F.logsigmoid(-logits)
    return -per_class.sum(-1).mean()


@pytest.mark.slow
@pytest.mark.parametrize('config', ['mixer-b16_in1k.py', 'mixer-l16_in1k.py'])
def test_recipe_loss_is_big_visions_sigmoid_xent_on_mixup_targets(config):
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample

    cfg = Config.fromfile(REPO / 'configs' / config)
    init_default_scope('mmpretrain')
    classifier = MODELS.build({**cfg.model, 'data_preprocessor': cfg.data_preprocessor})
    head = classifier.head
    head.init_weights()
    assert torch.equal(head.fc.weight, torch.zeros_like(head.fc.weight))
    assert torch.equal(head.fc.bias, torch.full_like(head.fc.bias, -6.9))

    # Mixup (configured on the model) turns labels into soft scores in the data preprocessor.
    np.random.seed(0)
    labels = [3, 7, 7, 999]
    batch = dict(
        inputs=[torch.randint(0, 256, (3, 224, 224), dtype=torch.uint8) for _ in labels],
        data_samples=[DataSample().set_gt_label(label) for label in labels],
    )
    samples = classifier.data_preprocessor(batch, training=True)['data_samples']
    targets = torch.stack([sample.gt_score for sample in samples])
    assert torch.allclose(targets.sum(-1), torch.ones(len(labels)))
    assert ((targets > 0).sum(-1) == 2).any()  # really mixed

    randomize_(head, std=1.0)
    features = torch.randn(len(labels), head.fc.in_features)
    logits = head((features,))
    loss = head.loss((features,), samples)['loss']
    assert loss.item() == pytest.approx(big_vision_sigmoid_xent(logits, targets).item(), rel=1e-5)


# ----------------------------------------------------------------------------- drop-in for mmpretrain
def mmpretrain_mixer_configs() -> list[Path]:
    import mmpretrain

    return sorted((Path(mmpretrain.__file__).parent / '.mim/configs/_base_/models').glob('mlp_mixer_*.py'))


def test_mmpretrain_ships_the_mixer_configs_we_test():
    assert [path.stem for path in mmpretrain_mixer_configs()] == ['mlp_mixer_base_patch16', 'mlp_mixer_large_patch16']


@pytest.mark.slow
@pytest.mark.parametrize('config', mmpretrain_mixer_configs(), ids=lambda path: path.stem)
def test_mmpretrains_own_mixer_configs_run_with_only_the_type_changed(config):
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample

    cfg = Config.fromfile(config)
    their_model = copy.deepcopy(cfg.model)
    cfg.model.backbone.type = 'mmmixer.MlpMixer'
    init_default_scope('mmpretrain')
    ours, theirs = MODELS.build(cfg.model), MODELS.build(their_model)
    assert isinstance(ours.backbone, MlpMixer)
    ours.init_weights()  # their init_cfg (Kaiming on the stem) applies to ours too

    images = torch.randn(1, 3, 224, 224)
    samples = [DataSample().set_gt_label(3)]
    loss = ours.train()(images, samples, mode='loss')['loss']
    loss.backward()
    assert torch.isfinite(loss) and ours.backbone.stem.proj.weight.grad is not None

    # The same function as theirs, given their weights and the same LayerNorm eps (they build 1e-5, our
    # default is the 1e-6 the published weights were trained with).
    randomize_(theirs)
    for module in theirs.modules():
        if isinstance(module, nn.LayerNorm):
            module.eps = 1e-6
    ours.load_state_dict(theirs.state_dict(), strict=True)
    with torch.no_grad():
        expected = theirs.eval()(images, mode='tensor')
        actual = ours.eval()(images, mode='tensor')
    assert (actual - expected).abs().max() <= 1e-4 * expected.abs().max()


def test_a_partial_act_cfg_override_keeps_gelu():
    """`--cfg-options model.backbone.act_cfg.approximate=tanh` (README, docs) merges into no act_cfg at all."""
    backbone = tiny_mixer(act_cfg=dict(approximate='tanh'))
    acts = {type(m.act).__name__ + ':' + m.act.approximate for m in backbone.modules() if hasattr(m, 'act')}
    assert acts == {'GELU:tanh'}
