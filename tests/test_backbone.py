"""MlpMixer backbone: parity with timm and mmpretrain, options, errors."""

import pytest
import timm
import torch
from mmengine.registry import init_default_scope
from torch import nn

from mmmixer.models import MlpMixer
from mmmixer.models.backbones.mlp_mixer import ARCH_ZOO, rename_mmpretrain_key
from tests.helpers import randomize_

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


def _mmpretrain_classifier(backbone: dict, pool_dim: int = 2):
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
    theirs = randomize_(
        # mmpretrain's Mixer returns (B, C, N): it pools over dim 1 of each sample.
        _mmpretrain_classifier(dict(type='MlpMixer', arch=TINY_ARCH, img_size=32, patch_size=8), pool_dim=1)
    ).eval()
    ours = _mmpretrain_classifier(
        dict(type='mmmixer.MlpMixer', arch=TINY_ARCH, img_size=32, patch_size=8, norm_cfg=dict(type='LN'))
    ).eval()
    assert any(key.startswith('backbone.layers.0.token_mix') for key in theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)

    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        (their_tokens,) = theirs.backbone(images)  # (B, C, N)
        (our_map,) = ours.backbone(images)  # (B, C, H, W)
        assert (our_map.flatten(2) - their_tokens).abs().max() <= 1e-6
        assert torch.allclose(ours(images, mode='tensor'), theirs(images, mode='tensor'), atol=1e-6)


def test_mmpretrain_key_renames():
    assert rename_mmpretrain_key('patch_embed.projection.weight') == 'stem.proj.weight'
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
    model = tiny_mixer(out_indices=[0, -1]).eval()
    images = torch.randn(2, 3, 32, 32)
    first, last = model(images)
    assert first.shape == last.shape == (2, 32, 4, 4)
    assert model.out_indices == [0, 2]

    model.out_type = 'raw'
    raw_first, raw_last = model(images)
    assert raw_last.shape == (2, 16, 32)
    assert torch.equal(raw_last, last.flatten(2).transpose(1, 2))
    model.out_type = 'avg_featmap'
    _, pooled = model(images)
    assert torch.allclose(pooled, last.mean((2, 3)), atol=1e-6)


@pytest.mark.parametrize('out_type', ['featmap', 'raw', 'avg_featmap'])
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


def test_image_classifier_with_global_average_pooling():
    classifier = _mmpretrain_classifier(dict(type='mmmixer.MlpMixer', arch=TINY_ARCH, img_size=32, patch_size=8))
    logits = classifier(torch.randn(2, 3, 32, 32), mode='tensor')
    assert logits.shape == (2, 10)


# ----------------------------------------------------------------------------- training options
def test_drop_path_is_a_linear_ramp_or_uniform():
    ramp = tiny_mixer(drop_path_rate=0.2)
    assert [b.drop_path_rate for b in ramp.blocks] == pytest.approx([0.0, 0.1, 0.2])
    uniform = tiny_mixer(drop_path_rate=0.2, drop_path_mode='uniform')
    assert [b.drop_path_rate for b in uniform.blocks] == pytest.approx([0.2] * 3)


def test_drop_path_drops_whole_images_in_training_only():
    block = tiny_mixer(drop_path_rate=1.0 - 1e-7, drop_path_mode='uniform').blocks[0]
    x = torch.randn(16, 4, 1, 32)  # (tokens, images, windows, channels)
    block.train()
    # With keep probability ~0 every residual branch is dropped: the block is the identity.
    assert torch.equal(block(x), x)
    block.eval()
    assert not torch.equal(block(x), x)


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


@pytest.mark.parametrize('name', ['s32', 's16', 'b32', 'b16', 'l32', 'l16', 'h14'])
def test_model_base_configs_match_the_paper_table(name):
    from pathlib import Path

    from mmengine.config import Config

    path = Path(__file__).resolve().parents[1] / f'configs/_base_/models/mixer_{name}.py'
    model = Config.fromfile(path, import_custom_modules=False).model
    arch, patch = name[0], int(name[1:])
    assert (model.backbone.arch, model.backbone.patch_size) == (arch, patch)
    assert model.head.in_channels == ARCH_ZOO[arch]['embed_dims'] and model.head.num_classes == 1000
