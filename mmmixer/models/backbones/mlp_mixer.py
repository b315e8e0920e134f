"""MLP-Mixer backbone.

Paper: "MLP-Mixer: An all-MLP Architecture for Vision", Tolstikhin et al., 2021
(https://arxiv.org/abs/2105.01601).

Each block mixes information first across tokens, then across channels::

    x = x + TokenMlp(LayerNorm(x))      # one MLP shared by all channels, over the token axis
    x = x + ChannelMlp(LayerNorm(x))    # one MLP shared by all tokens, over the channel axis

Layout. Inside the backbone activations are *token-major*: ``(N, B, W, C)`` with N tokens per
window, B images, W windows per image and C channels. Token mixing is then one matrix product
``weight @ x.view(N, -1)`` and channel mixing one ``x.view(-1, C) @ weight.T``: neither needs the
two transposes of the usual ``(B, N, C)`` formulation. The paper's model is the single-window case
(W = 1); ``token_mixing='window'`` tiles larger inputs into windows of the pretrained grid so that
the same weights serve any input size. Windows that overhang the token grid are zero-padded per
block, after the norm (as Swin does): the token-mixing input is zero at pad positions in every
block, and what the residual stream holds there is never read and is cropped from the outputs.

Shortcuts keep it fast, each taken only where nobody can tell (see :func:`inlinable`): the token
MLP multiplies the Linear weights directly (``addmm``) when ``fc1``/``fc2`` are plain ``nn.Linear``
without hooks; under ``torch.no_grad()`` GELU writes into fc1's output when both are plain, and an
eval-mode backbone adds its residuals into the activations in place (bit-identical results, no new
buffer per sum) when no block or norm has a hook or has been swapped for another class. Anything
else (feature-extraction hooks, LoRA or quantised Linear layers) runs the ordinary module calls.

Parameter names follow timm (``stem.proj``, ``blocks.{i}.mlp_tokens.fc1`` ...). State dicts with
mmpretrain's names (``patch_embed.projection``, ``layers.{i}.token_mix.layers.0.0`` ...) are renamed
when loaded, so mmpretrain's published Mixer checkpoints load strictly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import torch
import torch.nn.functional as F
import torch.nn.modules.module as nn_module
from mmcv.cnn import build_activation_layer
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import nn
from torch.utils.checkpoint import checkpoint

from mmmixer.models.utils.token_mixing import resize_token_mixing, token_mixing_grid
from mmmixer.registry import MODELS

ARCH_KEYS = ('embed_dims', 'num_layers', 'tokens_mlp_dims', 'channels_mlp_dims')
TOKEN_MIXING_MODES = ('global', 'window')
OUT_TYPES = ('flat_featmap', 'featmap', 'raw', 'avg_featmap')


def _arch(embed_dims: int, num_layers: int, tokens_mlp_dims: int, channels_mlp_dims: int) -> dict:
    return dict(zip(ARCH_KEYS, (embed_dims, num_layers, tokens_mlp_dims, channels_mlp_dims), strict=True))


# Table 1 of the paper. The patch size is a separate argument (S/32, S/16, B/32, ...).
ARCH_ZOO = {
    **dict.fromkeys(['s', 'small'], _arch(512, 8, 256, 2048)),
    **dict.fromkeys(['b', 'base'], _arch(768, 12, 384, 3072)),
    **dict.fromkeys(['l', 'large'], _arch(1024, 24, 512, 4096)),
    **dict.fromkeys(['h', 'huge'], _arch(1280, 32, 640, 5120)),
}

# mmpretrain's parameter names -> ours (applied to keys after the module prefix).
_MMPRETRAIN_KEY_RENAMES = [
    (re.compile(r'^patch_embed\.projection\.'), 'stem.proj.'),
    (re.compile(r'^patch_embed\.norm\.'), 'stem.norm.'),
    (re.compile(r'^layers\.(\d+)\.ln1\.'), r'blocks.\1.norm1.'),
    (re.compile(r'^layers\.(\d+)\.ln2\.'), r'blocks.\1.norm2.'),
    (re.compile(r'^layers\.(\d+)\.token_mix\.layers\.0\.0\.'), r'blocks.\1.mlp_tokens.fc1.'),
    (re.compile(r'^layers\.(\d+)\.token_mix\.layers\.1\.'), r'blocks.\1.mlp_tokens.fc2.'),
    (re.compile(r'^layers\.(\d+)\.channel_mix\.layers\.0\.0\.'), r'blocks.\1.mlp_channels.fc1.'),
    (re.compile(r'^layers\.(\d+)\.channel_mix\.layers\.1\.'), r'blocks.\1.mlp_channels.fc2.'),
    (re.compile(r'^ln1\.'), 'norm.'),
]


def rename_mmpretrain_key(key: str) -> str:
    """Map one mmpretrain ``MlpMixer`` parameter name (without prefix) to ours; others pass through."""
    for pattern, replacement in _MMPRETRAIN_KEY_RENAMES:
        new_key, count = pattern.subn(replacement, key)
        if count:
            return new_key
    return key


def build_norm(norm_cfg: dict, num_features: int) -> nn.LayerNorm:
    """A LayerNorm over channels from an mmcv-style config (``type='LN'``; ``eps`` defaults to 1e-5).

    Mixer normalises each token over its channels, which only LayerNorm does; it is built here
    directly, so no registry lookup depends on the caller's scope.
    """
    cfg = dict(norm_cfg)
    norm_type = cfg.pop('type', 'LN')
    if norm_type not in ('LN', 'LayerNorm', nn.LayerNorm):
        raise ValueError(f"norm_cfg type={norm_type!r} is not supported by MlpMixer; use dict(type='LN', eps=...)")
    cfg.pop('requires_grad', None)
    return nn.LayerNorm(num_features, **cfg)


def drop_path(x: torch.Tensor, drop_prob: float, training: bool) -> torch.Tensor:
    """Stochastic depth for token-major tensors: drops whole images (dim 1) of the residual branch.

    Kept images are scaled by 1 / keep probability; ``drop_prob=1`` drops every image (a zero branch).
    """
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1.0 - drop_prob
    mask_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    mask = x.new_empty(mask_shape).bernoulli_(keep_prob)
    if keep_prob > 0.0:
        mask.div_(keep_prob)
    return x * mask


def _forward_observed_globally() -> bool:
    # Hooks registered with torch.nn.modules.module.register_module_forward_(pre_)hook fire on every module call.
    return bool(nn_module._global_forward_hooks or nn_module._global_forward_pre_hooks)


def inlinable(module: nn.Module, cls: type[nn.Module]) -> bool:
    """Whether ``module``'s forward may be replaced by its arithmetic (a GEMM on its weight, an in-place op).

    Only when it is exactly ``cls`` (not a LoRA or quantised subclass or a swapped-in module), has no
    forward hooks (its own or global) and no instance-patched ``forward``: then nobody can observe or
    change what its call would compute.
    """
    return (
        type(module) is cls
        and not module._forward_hooks
        and not module._forward_pre_hooks
        and 'forward' not in module.__dict__
        and not _forward_observed_globally()
    )


class ChannelMlp(nn.Module):
    """Linear -> activation -> dropout -> Linear -> dropout, over the last (channel) axis."""

    def __init__(self, in_features: int, hidden_features: int, act_cfg: dict, drop_rate: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = build_activation_layer(act_cfg)
        self.drop1 = nn.Dropout(drop_rate)
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop2 = nn.Dropout(drop_rate)

    def linear(self, x: torch.Tensor, fc: nn.Module) -> torch.Tensor:
        return fc(x)

    def activate(self, hidden: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled() and inlinable(self.fc1, nn.Linear) and inlinable(self.act, nn.GELU):
            # Same kernel, but writes into fc1's output (a buffer nobody else holds) instead of a new one.
            return torch.ops.aten.gelu_(hidden, approximate=self.act.approximate)
        return self.act(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop1(self.activate(self.linear(x, self.fc1)))
        return self.drop2(self.linear(x, self.fc2))


class TokenMlp(ChannelMlp):
    """The same MLP over the first (token) axis of a token-major tensor: one GEMM per layer."""

    def linear(self, x: torch.Tensor, fc: nn.Module) -> torch.Tensor:
        if inlinable(fc, nn.Linear):
            out = torch.addmm(fc.bias[:, None], fc.weight, x.reshape(x.shape[0], -1))
            return out.view(-1, *x.shape[1:])
        # A hooked or swapped layer gets the usual call: tokens on the last axis.
        return fc(x.movedim(0, -1)).movedim(-1, 0)


class MixerBlock(BaseModule):
    """One Mixer layer: token mixing, then channel mixing, each pre-norm with a residual.

    Args:
        num_tokens: Tokens mixed together (the token grid, or one window of it).
        embed_dims: Channels C.
        tokens_mlp_dims: Hidden width D_S of the token-mixing MLP.
        channels_mlp_dims: Hidden width D_C of the channel-mixing MLP.
        drop_rate: Dropout after each MLP's activation and output.
        drop_path_rate: Stochastic-depth probability of both residual branches.
        num_fcs: Linear layers per MLP; only 2 (the paper's), accepted because mmpretrain's block takes it.
        act_cfg: Activation of both MLPs.
        norm_cfg: Normalisation before each MLP.
        init_cfg: mmengine init config of this block, applied after the backbone's initialisation.
    """

    def __init__(
        self,
        num_tokens: int,
        embed_dims: int,
        tokens_mlp_dims: int,
        channels_mlp_dims: int,
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        num_fcs: int = 2,
        act_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        init_cfg: dict | list | None = None,
    ):
        super().__init__(init_cfg=init_cfg)
        if num_fcs != 2:
            raise ValueError(f'num_fcs={num_fcs} is not supported: Mixer MLPs have 2 Linear layers')
        act_cfg = act_cfg or dict(type='GELU')
        norm_cfg = norm_cfg or dict(type='LN', eps=1e-6)
        self.drop_path_rate = drop_path_rate
        self.norm1 = build_norm(norm_cfg, embed_dims)
        self.mlp_tokens = TokenMlp(num_tokens, tokens_mlp_dims, act_cfg, drop_rate)
        self.norm2 = build_norm(norm_cfg, embed_dims)
        self.mlp_channels = ChannelMlp(embed_dims, channels_mlp_dims, act_cfg, drop_rate)

    def can_update_in_place(self) -> bool:
        """Whether adding the residuals into the input in place is invisible: no autograd, eval mode,
        and no hook or swapped module that sees the block's input, output or first norm's output."""
        return (
            not torch.is_grad_enabled()
            and not self.training
            and inlinable(self, MixerBlock)
            and inlinable(self.norm1, nn.LayerNorm)
            and inlinable(self.norm2, nn.LayerNorm)
        )

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None, in_place: bool = False) -> torch.Tensor:
        """``x``: (N, B, W, C). ``pad_mask`` (N, 1, W, 1) marks window positions outside the token
        grid, which the token MLP sees as zeros. ``in_place`` (the backbone decides it with
        :meth:`can_update_in_place` for all blocks at once) returns ``x`` itself, updated."""
        if not in_place:
            x = x + drop_path(self.mlp_tokens(self.token_mixing_input(x, pad_mask)), self.drop_path_rate, self.training)
            return x + drop_path(self.mlp_channels(self.norm2(x)), self.drop_path_rate, self.training)
        # Inference: the same arithmetic (bit for bit), adding the residuals into x in place
        # instead of allocating the sums; the caller owns x and gets it back updated.
        x += self.mlp_tokens(self.token_mixing_input(x, pad_mask, in_place=True))
        x += self.mlp_channels(self.norm2(x))
        return x

    def token_mixing_input(
        self, x: torch.Tensor, pad_mask: torch.Tensor | None, in_place: bool = False
    ) -> torch.Tensor:
        """norm1(x), zero at the padded window positions (written into the norm's output when in place)."""
        normed = self.norm1(x)
        if pad_mask is None:
            return normed
        return normed.masked_fill_(pad_mask, 0.0) if in_place else normed.masked_fill(pad_mask, 0.0)


class PatchEmbed(nn.Module):
    """Non-overlapping patches -> embeddings: a strided convolution, optionally followed by a norm.

    ``padding='corner'`` (the default, as mmcv's ``PatchEmbed`` that mmpretrain's Mixer uses)
    zero-pads the bottom and right of the input so that patches cover every pixel: the token grid
    is ``ceil(size / stride)``. ``'same'`` splits that padding between both sides; a number pads
    every side by it, as ``nn.Conv2d`` does (the grid is then rounded down).
    """

    def __init__(
        self,
        in_channels: int,
        embed_dims: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] | str = 'corner',
        bias: bool = True,
        norm_cfg: dict | None = None,
    ):
        super().__init__()
        if isinstance(padding, str) and padding not in ('corner', 'same'):
            raise ValueError(f"patch padding={padding!r} is not supported; use 'corner', 'same' or a number")
        self.adaptive_padding = padding if isinstance(padding, str) else None
        self.proj = nn.Conv2d(
            in_channels,
            embed_dims,
            kernel_size,
            stride=stride or kernel_size,
            padding=0 if self.adaptive_padding else padding,
            bias=bias,
        )
        self.norm = build_norm(norm_cfg, embed_dims) if norm_cfg else None

    def _adaptive_pad(self, size: tuple[int, int]) -> tuple[int, int]:
        """Padding (height, width) that makes the last patch end at or past the last pixel."""
        k, s = self.proj.kernel_size, self.proj.stride
        return tuple(max((-(-size[i] // s[i]) - 1) * s[i] + k[i] - size[i], 0) for i in range(2))

    def output_size(self, size: tuple[int, int]) -> tuple[int, int]:
        k, s, p = self.proj.kernel_size, self.proj.stride, self.proj.padding
        extra = self._adaptive_pad(size) if self.adaptive_padding else (0, 0)
        return tuple((size[i] + 2 * p[i] + extra[i] - k[i]) // s[i] + 1 for i in range(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.adaptive_padding:
            pad_h, pad_w = self._adaptive_pad(tuple(x.shape[-2:]))
            if pad_h or pad_w:
                if self.adaptive_padding == 'corner':
                    x = F.pad(x, (0, pad_w, 0, pad_h))
                else:
                    x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        x = self.proj(x)
        if self.norm is not None:
            x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return x


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if len(value) != 2:
        raise ValueError(f'expected an int or a pair of ints, got {value!r}')
    return int(value[0]), int(value[1])


@MODELS.register_module()
class MlpMixer(BaseModule):
    """MLP-Mixer backbone, usable by mmpretrain classifiers and mmdet detectors.

    A drop-in replacement for mmpretrain's ``MlpMixer``: its arguments, its output layout
    (B, C, N) by default, and its checkpoints; parameter names are timm's, not mmpretrain's (see
    README, "Drop-in for mmpretrain"). It also matches timm's ``MlpMixer`` numerically, takes
    positive ``out_indices``, returns NCHW feature maps (``out_type='featmap'``) and, with
    ``token_mixing='window'``, accepts inputs of any size.

    Args:
        arch: ``'s'``, ``'b'``, ``'l'``, ``'h'`` (or ``'small'``, ``'base'``, ``'large'``, ``'huge'``)
            from the paper's Table 1, or a dict with keys ``embed_dims``, ``num_layers``,
            ``tokens_mlp_dims`` and ``channels_mlp_dims``.
        img_size: Input size the token-mixing MLPs are built for (int or (H, W)). The token grid
            is what the patch embedding makes of it: ``ceil(img_size / patch_size)`` with the
            default ``'corner'`` padding (a partial last patch is zero-padded, as in mmpretrain).
        patch_size: Side of the square patches (32, 16 or 14 in the paper).
        in_channels: Input image channels.
        out_indices: Blocks whose outputs are returned, 0-based; negative counts from the end
            (-1 is the last block).
        drop_rate: Dropout inside the MLPs.
        drop_path_rate: Stochastic-depth probability of each residual branch, in [0, 1].
        drop_path_mode: ``'uniform'`` (default) gives every block ``drop_path_rate``, as the
            paper's code (big_vision), timm's ``MlpMixer`` and mmpretrain's do; ``'linear'``
            ramps it from 0 at the first block to ``drop_path_rate`` at the last (the
            DeiT/Swin convention), which halves the average rate.
        norm_cfg: Norm layers. The default, LayerNorm with eps 1e-6, is what the published
            weights were trained with; ``dict(type='LN')`` means eps 1e-5 as everywhere in mmcv.
        act_cfg: MLP activation. ``dict(type='GELU')`` is exact (erf) GELU as in timm;
            ``dict(type='GELU', approximate='tanh')`` matches the JAX/flax models.
        patch_cfg: Overrides for the patch embedding: ``kernel_size``, ``stride``, ``padding``
            (``'corner'``, ``'same'`` or a number), ``bias``, ``norm_cfg`` (mmcv ``PatchEmbed``
            names; ``conv_type='Conv2d'``, ``dilation=1`` and ``input_size`` accepted).
        layer_cfgs: Overrides for the blocks' arguments (see ``MixerBlock``), one dict for all or
            a list with one dict per block.
        final_norm: Apply the final LayerNorm to the last block's output.
        out_type: ``'flat_featmap'`` (default) (B, C, N), what mmpretrain's ``MlpMixer`` returns
            (pool it with ``GlobalAveragePooling(dim=1)``); ``'featmap'`` (B, C, H, W) for dense
            heads and ``GlobalAveragePooling()``; ``'raw'`` (B, N, C); ``'avg_featmap'`` (B, C).
        token_mixing: ``'global'`` mixes all tokens of the ``img_size`` grid, so inputs must be
            exactly ``img_size``. ``'window'`` mixes tokens inside non-overlapping windows of
            that grid, so any input size works: windows that overhang the grid see zeros at the
            missing tokens in every block, and those positions are cropped from the outputs. At
            ``img_size`` both are the same function (the same patch embedding makes the grid).
        frozen_stages: -1 freezes nothing; 0 freezes the stem; k > 0 the stem and the first k
            blocks (and the final norm when k is the number of blocks). Frozen parts stay in
            eval mode and get no gradients.
        norm_eval: Keep norm layers in eval mode while training (mmdet convention). Mixer's
            LayerNorms hold no running statistics, so this changes no result.
        with_cp: Recompute each block in the backward pass (activation checkpointing) to save memory.
        init_cfg: mmengine init config; ``None`` gives timm's initialisation,
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')`` loads weights.
    """

    arch_zoo = ARCH_ZOO

    def __init__(
        self,
        arch: str | dict = 'base',
        img_size: int | Sequence[int] = 224,
        patch_size: int = 16,
        in_channels: int = 3,
        out_indices: int | Sequence[int] = -1,
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        drop_path_mode: str = 'uniform',
        norm_cfg: dict | None = None,
        act_cfg: dict | None = None,
        patch_cfg: dict | None = None,
        layer_cfgs: dict | Sequence[dict] | None = None,
        final_norm: bool = True,
        out_type: str = 'flat_featmap',
        token_mixing: str = 'global',
        frozen_stages: int = -1,
        norm_eval: bool = False,
        with_cp: bool = False,
        init_cfg: dict | list | None = None,
    ):
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = self._resolve_arch(arch)
        self.embed_dims = self.arch_settings['embed_dims']
        self.num_layers = self.arch_settings['num_layers']
        self.img_size = _pair(img_size)
        self.norm_cfg = dict(norm_cfg or dict(type='LN', eps=1e-6))
        self.act_cfg = dict(act_cfg or dict(type='GELU'))
        if out_type not in OUT_TYPES:
            raise ValueError(f'out_type={out_type!r} is not supported; choose one of {OUT_TYPES}')
        if token_mixing not in TOKEN_MIXING_MODES:
            raise ValueError(f'token_mixing={token_mixing!r} is not supported; choose one of {TOKEN_MIXING_MODES}')
        if drop_path_mode not in ('uniform', 'linear'):
            raise ValueError(f"drop_path_mode={drop_path_mode!r} is not supported; choose 'uniform' or 'linear'")
        if not 0.0 <= drop_path_rate <= 1.0:
            raise ValueError(f'drop_path_rate={drop_path_rate} is not a probability; use a value in [0, 1]')
        self.out_type = out_type
        self.token_mixing = token_mixing
        self.final_norm = final_norm
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        self.stem = PatchEmbed(in_channels, self.embed_dims, **self._patch_kwargs(patch_size, patch_cfg))
        self.patch_size = self.stem.proj.kernel_size
        self.patch_resolution = self.stem.output_size(self.img_size)
        num_tokens = self.patch_resolution[0] * self.patch_resolution[1]

        self.out_indices = self._resolve_out_indices(out_indices)
        if drop_path_mode == 'linear':
            drop_path_rates = torch.linspace(0, drop_path_rate, self.num_layers).tolist()
        else:
            drop_path_rates = [drop_path_rate] * self.num_layers
        if isinstance(layer_cfgs, dict) or layer_cfgs is None:
            layer_cfgs = [layer_cfgs or {}] * self.num_layers
        if len(layer_cfgs) != self.num_layers:
            raise ValueError(f'layer_cfgs has {len(layer_cfgs)} entries but the arch has {self.num_layers} blocks')
        self.blocks = nn.ModuleList(
            MixerBlock(
                **{
                    **dict(
                        num_tokens=num_tokens,
                        embed_dims=self.embed_dims,
                        tokens_mlp_dims=self.arch_settings['tokens_mlp_dims'],
                        channels_mlp_dims=self.arch_settings['channels_mlp_dims'],
                        drop_rate=drop_rate,
                        drop_path_rate=drop_path_rates[i],
                        act_cfg=self.act_cfg,
                        norm_cfg=self.norm_cfg,
                    ),
                    **layer_cfgs[i],
                }
            )
            for i in range(self.num_layers)
        )
        self.norm = build_norm(self.norm_cfg, self.embed_dims) if final_norm else nn.Identity()

        self._register_load_state_dict_pre_hook(self._adapt_incoming_state_dict)
        self._freeze_stages()

    # ------------------------------------------------------------------ construction helpers
    @staticmethod
    def _resolve_arch(arch: str | dict) -> dict:
        if isinstance(arch, str):
            if arch.lower() not in ARCH_ZOO:
                raise ValueError(f'arch={arch!r} is unknown; choose one of {sorted(ARCH_ZOO)} or pass a dict')
            return dict(ARCH_ZOO[arch.lower()])
        if not isinstance(arch, dict):
            raise TypeError(f'arch must be a name or a dict, got {type(arch).__name__}')
        missing = [key for key in ARCH_KEYS if key not in arch]
        unknown = sorted(set(arch) - set(ARCH_KEYS))
        if missing or unknown:
            raise ValueError(
                f'custom arch dict: missing keys {missing}, unknown keys {unknown}; it needs exactly {list(ARCH_KEYS)}'
            )
        return {key: int(arch[key]) for key in ARCH_KEYS}

    @staticmethod
    def _patch_kwargs(patch_size: int, patch_cfg: dict | None) -> dict:
        cfg = dict(patch_cfg or {})
        # Keys that mmcv's PatchEmbed takes but that are implied here (input_size is img_size).
        for implied in ('input_size', 'embed_dims', 'in_channels', 'init_cfg'):
            cfg.pop(implied, None)
        conv_type = cfg.pop('conv_type', 'Conv2d')
        if conv_type != 'Conv2d':
            raise ValueError(f"patch_cfg conv_type={conv_type!r} is not supported; only 'Conv2d'")
        if cfg.pop('dilation', 1) not in (1, (1, 1)):
            raise ValueError('patch_cfg dilation must be 1')
        kwargs = dict(kernel_size=cfg.pop('kernel_size', patch_size), stride=cfg.pop('stride', None))
        for key in ('padding', 'bias', 'norm_cfg'):
            if key in cfg:
                kwargs[key] = cfg.pop(key)
        if cfg:
            raise ValueError(
                f'patch_cfg keys {sorted(cfg)} are not supported; use kernel_size, stride, padding, bias, norm_cfg'
            )
        return kwargs

    def _resolve_out_indices(self, out_indices: int | Sequence[int]) -> list[int]:
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        if not isinstance(out_indices, Sequence):
            raise TypeError(f'out_indices must be an int or a sequence of ints, got {type(out_indices).__name__}')
        resolved = []
        for index in out_indices:
            if not -self.num_layers <= index < self.num_layers:
                raise ValueError(
                    f'out_indices entry {index} is out of range for {self.num_layers} blocks; '
                    f'use 0..{self.num_layers - 1} or -{self.num_layers}..-1'
                )
            resolved.append(index % self.num_layers)
        return sorted(set(resolved))

    def _adapt_incoming_state_dict(self, state_dict, prefix, *args) -> None:
        """Load-time pre-hook: take mmpretrain's names, and token-mixing weights of another grid.

        A checkpoint whose token-mixing MLPs were trained on another grid (e.g. 224 px weights for a
        448 px model) is resized with :func:`resize_token_mixing`: ``'block_diagonal'`` when this
        model's token hidden width is K times the checkpoint's for a K times larger grid (the
        paper's fine-tuning init), ``'bilinear'`` when the widths are equal.
        """
        for key in [k for k in state_dict if k.startswith(prefix)]:
            new_key = prefix + rename_mmpretrain_key(key[len(prefix) :])
            if new_key != key:
                state_dict[new_key] = state_dict.pop(key)

        probe = f'{prefix}blocks.0.mlp_tokens.fc1.weight'
        own_shape = self.blocks[0].mlp_tokens.fc1.weight.shape
        if probe not in state_dict or state_dict[probe].shape == own_shape:
            return
        hidden, num_tokens = state_dict[probe].shape
        new_grid = self.patch_resolution
        if math.isqrt(num_tokens) ** 2 != num_tokens:
            raise ValueError(
                f"the checkpoint's token-mixing MLP ({probe[len(prefix) :]}) mixes {num_tokens} tokens, a grid "
                f'that is not square, so its height and width are unknown; this model mixes {own_shape[1]} tokens '
                f'(a {new_grid[0]}x{new_grid[1]} grid: img_size {self.img_size[0]}x{self.img_size[1]}, patch '
                f'{self.patch_size[0]}x{self.patch_size[1]}). Build the model with the img_size the checkpoint was '
                'trained at, or convert the weights first with mmmixer.models.resize_token_mixing(state_dict, '
                f'old_grid=(H, W), new_grid={new_grid}).'
            )
        old_grid = token_mixing_grid(num_tokens)
        growth = (new_grid[0] * new_grid[1]) // num_tokens
        if own_shape[0] == hidden:
            mode = 'bilinear'
        elif own_shape[0] == hidden * growth and new_grid[0] % old_grid[0] == 0 and new_grid[1] % old_grid[1] == 0:
            mode = 'block_diagonal'
        else:
            return  # incompatible widths: load_state_dict reports the size mismatch
        ours = {k: v for k, v in state_dict.items() if k.startswith(prefix)}
        state_dict.update(resize_token_mixing(ours, old_grid, new_grid, mode))
        MMLogger.get_current_instance().info(
            f'MlpMixer: resized the token-mixing weights from a {old_grid[0]}x{old_grid[1]} to a '
            f'{new_grid[0]}x{new_grid[1]} token grid ({mode})'
        )

    # ------------------------------------------------------------------ init, freezing, modes
    def init_weights(self) -> None:
        """timm's initialisation, then whatever ``init_cfg`` asks for (e.g. loading weights)."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.normal_(module.bias, std=1e-6)
            elif isinstance(module, nn.Conv2d):
                # LeCun normal, as in timm and flax.
                fan_in = module.in_channels * math.prod(module.kernel_size)
                std = math.sqrt(1.0 / fan_in) / 0.87962566103423978  # corrects the truncation at 2 std
                nn.init.trunc_normal_(module.weight, std=std, a=-2 * std, b=2 * std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm) and module.elementwise_affine:
                nn.init.ones_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        super().init_weights()

    def _frozen_modules(self) -> list[nn.Module]:
        if self.frozen_stages < 0:
            return []
        frozen = [self.stem, *self.blocks[: self.frozen_stages]]
        if self.frozen_stages >= self.num_layers:
            frozen.append(self.norm)
        return frozen

    def _freeze_stages(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> MlpMixer:
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.LayerNorm):
                    module.eval()
        return self

    def get_layer_depth(self, param_name: str, prefix: str = '') -> tuple[int, int]:
        """Depth of a parameter for layer-wise learning-rate decay (mmpretrain's convention).

        The stem is depth 0, block i is depth i + 1, and everything after the blocks (final norm,
        neck, head) is the last depth, ``num_layers + 1``.
        """
        num_depths = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_depths - 1, num_depths
        name = rename_mmpretrain_key(param_name[len(prefix) :])
        if name.startswith('stem.'):
            return 0, num_depths
        if name.startswith('blocks.'):
            return int(name.split('.')[1]) + 1, num_depths
        return num_depths - 1, num_depths

    # ------------------------------------------------------------------ forward
    def _check_input_size(self, x: torch.Tensor) -> None:
        if self.token_mixing == 'global' and tuple(x.shape[-2:]) != self.img_size:
            h, w = self.img_size
            raise ValueError(
                f'MlpMixer was built for {h}x{w} inputs (a {self.patch_resolution[0]}x{self.patch_resolution[1]} '
                f'token grid) but got {x.shape[-2]}x{x.shape[-1]}: resize the input to {h}x{w}, or build the '
                "backbone with token_mixing='window' to accept any size."
            )

    def _to_windows(self, feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, C, H, W) stem output -> token-major windows (N, B, W, C), and the mask of their padding.

        The grid is zero-padded to whole windows. The mask, (N, 1, W, 1) and True at positions
        outside the grid, is None when there is no padding.
        """
        wh, ww = self.patch_resolution
        height, width = feat.shape[-2:]
        pad_h, pad_w = -height % wh, -width % ww
        if pad_h or pad_w:
            feat = F.pad(feat, (0, pad_w, 0, pad_h))
        b, c, h, w = feat.shape
        rows, cols = h // wh, w // ww
        feat = feat.view(b, c, rows, wh, cols, ww)
        tokens = feat.permute(3, 5, 0, 2, 4, 1).reshape(wh * ww, b, rows * cols, c)
        pad_mask = None
        if pad_h or pad_w:
            outside = torch.ones(h, w, dtype=torch.bool, device=feat.device)
            outside[:height, :width] = False
            pad_mask = outside.view(rows, wh, cols, ww).permute(1, 3, 0, 2).reshape(wh * ww, 1, rows * cols, 1)
        return tokens.contiguous(), pad_mask  # the blocks update the tokens in place when inferring

    def _to_grid(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """Token-major windows (N, B, W, C) -> (B, H, W, C) on the unpadded token grid."""
        wh, ww = self.patch_resolution
        rows, cols = -(-grid[0] // wh), -(-grid[1] // ww)
        _, b, _, c = x.shape
        x = x.view(wh, ww, b, rows, cols, c).permute(2, 3, 0, 4, 1, 5)
        return x.reshape(b, rows * wh, cols * ww, c)[:, : grid[0], : grid[1]]

    def _format_output(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        if grid == self.patch_resolution:
            # One unpadded window: token-major (N, B, 1, C) is the grid in raster order already.
            tokens = x[:, :, 0]
            if self.out_type == 'avg_featmap':
                return tokens.mean(0)
            if self.out_type == 'raw':
                return tokens.transpose(0, 1).contiguous()
            flat = tokens.permute(1, 2, 0)
            return flat if self.out_type == 'flat_featmap' else flat.reshape(x.shape[1], -1, *grid)
        grid_features = self._to_grid(x, grid)
        if self.out_type == 'featmap':
            return grid_features.permute(0, 3, 1, 2).contiguous()
        if self.out_type == 'flat_featmap':
            return grid_features.permute(0, 3, 1, 2).flatten(2)
        if self.out_type == 'raw':
            return grid_features.reshape(grid_features.shape[0], -1, grid_features.shape[-1])
        return grid_features.mean((1, 2))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        self._check_input_size(x)
        feat = self.stem(x)
        grid = tuple(feat.shape[-2:])
        x, pad_mask = self._to_windows(feat)
        # Decided once for all blocks: an observer of block i's output would see block i + 1 update it.
        in_place = all(block.can_update_in_place() for block in self.blocks)

        outs = []
        last = self.num_layers - 1
        for i, block in enumerate(self.blocks):
            if self.with_cp and self.training and x.requires_grad:
                x = checkpoint(block, x, pad_mask, use_reentrant=False)
            else:
                x = block(x, pad_mask, in_place)
            if i == last:
                x = self.norm(x)
            if i in self.out_indices:
                # The next block would overwrite x, so keep a copy of an intermediate output.
                feature = x.clone() if in_place and i != last else x
                outs.append(self._format_output(feature, grid))
        return tuple(outs)
