"""MlpMixer on inputs of any size (window mixing and the token grid), with hooks and swapped modules, on
checkpoints of another grid, and with the ImageNet recipe's loss."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from torch import nn

from mmmixer.models import MlpMixer
from tests.helpers import REPO, randomize_
from tests.test_models.tiny import TINY_ARCH, tiny_mixer


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
    with torch.no_grad():
        (actual,) = model(images)
    assert actual.shape == expected.shape == (2, 32, -(-size[0] // 8), -(-size[1] // 8))
    assert (actual - expected).abs().max() <= 1e-5


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
def test_forward_hooks_see_every_module_call_without_fast_paths():
    model = tiny_mixer(out_indices=[0, 1, 2], fast_paths=False).eval()
    seen: dict[str, list[torch.Tensor]] = {'block 1 output': [], 'block 2 norm1 input': [], 'block 0 token fc1': []}
    model.blocks[1].register_forward_hook(lambda m, args, out: seen['block 1 output'].append(out))
    model.blocks[2].norm1.register_forward_hook(lambda m, args, out: seen['block 2 norm1 input'].append(args[0]))
    model.blocks[0].mlp_tokens.fc1.register_forward_hook(lambda m, args, out: seen['block 0 token fc1'].append(out))
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        outputs = model(images)
    assert all(len(captured) == 1 for captured in seen.values()), seen
    # What the hooks saw is what the model computed: block 1's output is block 2's input, and stays so.
    assert torch.equal(seen['block 1 output'][0], seen['block 2 norm1 input'][0])
    # The token fc1 sees the tokens last, as nn.Linear does: (B, W, C, N) -> hidden width on the last axis.
    assert seen['block 0 token fc1'][0].shape == (2, 1, 32, model.blocks[0].mlp_tokens.fc1.out_features)
    assert torch.equal(outputs[1].flatten(2), seen['block 1 output'][0][:, :, 0].permute(1, 2, 0))


@pytest.mark.parametrize(('fast_paths', 'linears_per_block'), [(False, 4), (True, 2)])
def test_global_forward_hooks_see_the_linears_called_as_modules(fast_paths, linears_per_block):
    # With the fast path the token MLP's weights are used in one GEMM each, not through the module call.
    model = tiny_mixer(fast_paths=fast_paths).eval()
    called = []
    handle = torch.nn.modules.module.register_module_forward_hook(
        lambda module, args, out: called.append(module) if isinstance(module, nn.Linear) else None
    )
    try:
        with torch.no_grad():
            model(torch.randn(1, 3, 32, 32))
    finally:
        handle.remove()
    assert len(called) == linears_per_block * len(model.blocks)


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
