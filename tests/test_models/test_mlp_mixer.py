"""MlpMixer's options: the arch table, outputs, training options (drop path, frozen stages, checkpointing),
init and errors."""

import pytest
import torch

from mmmixer.models import MlpMixer
from mmmixer.models.backbones.mlp_mixer import ARCH_ZOO
from mmmixer.models.utils.layers import drop_path
from tests.helpers import REPO
from tests.test_models.tiny import TINY_ARCH, mmpretrain_classifier, tiny_mixer


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


def _outputs_and_gradients(model: MlpMixer, images: torch.Tensor, training: bool) -> list[torch.Tensor]:
    model.zero_grad()
    outputs = list(model.train(training)(images))
    sum(out.square().sum() for out in outputs).backward()
    return outputs + [p.grad for p in model.parameters() if p.grad is not None]


@pytest.mark.parametrize('training', [True, False])
@pytest.mark.parametrize(('token_mixing', 'size', 'batch'), [('global', 32, 1), ('global', 32, 3), ('window', 44, 2)])
def test_the_token_mixing_gemm_fast_path_computes_the_module_calls(token_mixing, size, batch, training):
    # The one fast path (layers.Mlp.linear): the token MLP's Linear layers as GEMMs on the token-major layout.
    # With fast_paths=False every Linear is called as a module: outputs and gradients must agree (in float64, so
    # that any difference beyond rounding is a different function).
    model = tiny_mixer(out_indices=[0, 1, 2], token_mixing=token_mixing, drop_rate=0.0).double()
    images = torch.randn(batch, 3, size, size, dtype=torch.float64)
    assert model.fast_paths
    fast = _outputs_and_gradients(model, images, training)
    model.fast_paths = False
    plain = _outputs_and_gradients(model, images, training)
    assert len(fast) == len(plain) > 3
    for i, (a, b) in enumerate(zip(fast, plain, strict=True)):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-9), (
            f'the token-mixing GEMM fast path (mmmixer.models.utils.layers.Mlp.linear) diverges from calling the '
            f'Linear modules: tensor {i}, max difference {(a - b).abs().max():.3g}'
        )


def test_fast_paths_switch_reaches_every_token_mlp_and_refuses_non_bools():
    model = tiny_mixer(fast_paths=False)
    assert not any(block.mlp_tokens.token_gemm for block in model.blocks)
    model.fast_paths = True
    assert all(block.mlp_tokens.token_gemm for block in model.blocks)
    with pytest.raises(TypeError, match='fast_paths must be True or False'):
        model.fast_paths = 'yes'


def test_inference_leaves_the_input_untouched_and_matches_the_autograd_path():
    model = tiny_mixer(out_indices=[0, 1, 2]).eval()
    images = torch.randn(2, 3, 32, 32)
    untouched = images.clone()
    with torch.no_grad():
        inferred = model(images)
    reference = model(images)
    assert torch.equal(images, untouched)
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
    default = mmpretrain_classifier(dict(type='mmmixer.MlpMixer', arch=TINY_ARCH, img_size=32, patch_size=8))
    nchw = mmpretrain_classifier(
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
