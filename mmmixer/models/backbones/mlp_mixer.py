"""MLP-Mixer backbone.

Paper: "MLP-Mixer: An all-MLP Architecture for Vision", Tolstikhin et al., 2021
(https://arxiv.org/abs/2105.01601).

Each block mixes information first across tokens, then across channels::

    x = x + mlp_tokens(norm1(x))      # an MLP over the token axis, shared by all channels
    x = x + mlp_channels(norm2(x))    # an MLP over the channel axis, shared by all tokens

Activations are token-major inside the backbone, ``(N, B, W, C)`` with W windows per image (see
:mod:`mmmixer.models.utils.windows`). The paper's model is the single-window case (W = 1);
``token_mixing='window'`` tiles larger inputs into windows of the pretrained grid so that the same
weights serve any input size. Windows that overhang the token grid are zero-padded per block, after
the norm (as Swin does): the token-mixing input is zero at pad positions in every block, and what the
residual stream holds there is never read and is cropped from the outputs.

What a block computes: :meth:`MixerBlock.forward`; the model's one fast path (the token MLP as a GEMM on the
token-major layout): :class:`mmmixer.models.utils.layers.Mlp`, switched by ``MlpMixer.fast_paths``.
Parameter names follow timm; mmpretrain's names and checkpoints of another token grid are adapted
when loaded: :mod:`mmmixer.models.utils.checkpoint_compat`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from mmengine.model import BaseModule
from torch import nn
from torch.utils.checkpoint import checkpoint

from mmmixer.errors import ConfigTypeError, ConfigValueError, InputSizeError
from mmmixer.models.utils.arguments import one_of, probability, size_pair, whole_number
from mmmixer.models.utils.checkpoint_compat import adapt_state_dict, backbone_key
from mmmixer.models.utils.layers import Mlp, PatchEmbed, build_norm, drop_path, patch_embed_kwargs
from mmmixer.models.utils.windows import OUT_TYPES, format_output, to_windows
from mmmixer.registry import MODELS

ARCH_KEYS = ('embed_dims', 'num_layers', 'tokens_mlp_dims', 'channels_mlp_dims')
TOKEN_MIXING_MODES = ('global', 'window')
# MixerBlock arguments that the backbone derives for every block; layer_cfgs may not change them.
BLOCK_SHAPE_KEYS = ('num_tokens', 'embed_dims')


def _arch(embed_dims: int, num_layers: int, tokens_mlp_dims: int, channels_mlp_dims: int) -> dict:
    return dict(zip(ARCH_KEYS, (embed_dims, num_layers, tokens_mlp_dims, channels_mlp_dims), strict=True))


# Table 1 of the paper. The patch size is a separate argument (S/32, S/16, B/32, ...).
ARCH_ZOO = {
    **dict.fromkeys(['s', 'small'], _arch(512, 8, 256, 2048)),
    **dict.fromkeys(['b', 'base'], _arch(768, 12, 384, 3072)),
    **dict.fromkeys(['l', 'large'], _arch(1024, 24, 512, 4096)),
    **dict.fromkeys(['h', 'huge'], _arch(1280, 32, 640, 5120)),
}


class MixerBlock(BaseModule):
    """One Mixer layer: token mixing, then channel mixing, each pre-norm with a residual (:meth:`forward`).

    Activations are token-major, ``(N, B, W, C)``: N tokens, B images, W windows per image, C channels, so
    that the token MLP mixes the first axis and the channel MLP the last one (:class:`Mlp`'s ``axis``).

    Args:
        num_tokens: Tokens mixed together (the token grid, or one window of it).
        embed_dims: Channels C.
        tokens_mlp_dims: Hidden width D_S of the token-mixing MLP.
        channels_mlp_dims: Hidden width D_C of the channel-mixing MLP.
        drop_rate: Dropout after each MLP's activation and output.
        drop_path_rate: Stochastic-depth probability of both residual branches.
        drop_path_scale_by_keep: Divide kept branches by the keep probability (see ``drop_path``).
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
        drop_path_scale_by_keep: bool = True,
        num_fcs: int = 2,
        act_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        init_cfg: dict | list | None = None,
    ):
        super().__init__(init_cfg=init_cfg)
        if num_fcs != 2:
            raise ConfigValueError(f'num_fcs={num_fcs} is not supported: Mixer MLPs have 2 Linear layers; use 2')
        act_cfg = {'type': 'GELU', **(act_cfg or {})}  # `--cfg-options ...act_cfg.approximate=tanh` names no type
        norm_cfg = norm_cfg or dict(type='LN', eps=1e-6)
        self.drop_path_rate = drop_path_rate
        self.drop_path_scale_by_keep = drop_path_scale_by_keep
        self.norm1 = build_norm(norm_cfg, embed_dims)
        self.mlp_tokens = Mlp(num_tokens, tokens_mlp_dims, act_cfg, drop_rate, axis='tokens')
        self.norm2 = build_norm(norm_cfg, embed_dims)
        self.mlp_channels = Mlp(embed_dims, channels_mlp_dims, act_cfg, drop_rate, axis='channels')

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        """What the block computes. ``x``: (N, B, W, C); ``pad_mask`` (N, 1, W, 1) marks window positions
        outside the token grid, which the token MLP sees as zeros."""
        tokens = self.norm1(x)
        if pad_mask is not None:
            tokens = tokens.masked_fill(pad_mask, 0.0)
        x = x + self.drop_path(self.mlp_tokens(tokens))
        return x + self.drop_path(self.mlp_channels(self.norm2(x)))

    def drop_path(self, branch: torch.Tensor) -> torch.Tensor:
        """Stochastic depth of one residual branch (identity outside training)."""
        return drop_path(branch, self.drop_path_rate, self.training, self.drop_path_scale_by_keep)


@MODELS.register_module()
class MlpMixer(BaseModule):
    """MLP-Mixer backbone, usable by mmpretrain classifiers and mmdet detectors.

    A drop-in replacement for mmpretrain's ``MlpMixer``: its arguments, its output layout
    (B, C, N) by default, and its checkpoints; parameter names are timm's, not mmpretrain's (see
    docs/mmpretrain.md). It also matches timm's ``MlpMixer`` numerically, takes
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
        drop_path_mode: ``'uniform'`` (default) gives every block ``drop_path_rate``, as timm's
            and mmpretrain's ``MlpMixer`` do; ``'linear'`` ramps it from 0 at the first block to
            ``drop_path_rate`` at the last, block i getting ``i / (num_layers - 1) * drop_path_rate``:
            the paper's code (big_vision ``models/mlp_mixer.py``), and DeiT's and Swin's.
        drop_path_scale_by_keep: ``True`` (default, timm and mmpretrain) divides the branches that
            are kept by the keep probability; ``False`` leaves them unscaled, as big_vision does.
        norm_cfg: Norm layers. The default, LayerNorm with eps 1e-6, is what the published
            weights were trained with; ``dict(type='LN')`` means eps 1e-5 as everywhere in mmcv.
        act_cfg: MLP activation. ``dict(type='GELU')`` is exact (erf) GELU as in timm;
            ``dict(type='GELU', approximate='tanh')`` matches the JAX/flax models.
        patch_cfg: Overrides for the patch embedding: ``kernel_size``, ``stride``, ``padding``
            (``'corner'``, ``'same'`` or a number), ``bias``, ``norm_cfg`` (mmcv ``PatchEmbed``
            names; ``conv_type='Conv2d'``, ``dilation=1`` and ``input_size`` accepted).
        layer_cfgs: Overrides for the blocks' arguments (see ``MixerBlock``), one dict for all or
            a list with one dict per block; ``num_tokens`` and ``embed_dims`` are refused (they
            follow from ``img_size``, ``patch_size`` and ``arch``).
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
        fast_paths: Run the token-mixing MLPs' Linear layers as one GEMM each on the token-major layout (the same
            function, 12% faster in bf16; see :class:`mmmixer.models.utils.layers.Mlp`). ``False`` calls every
            Linear as a module: what forward hooks on ``mlp_tokens.fc1``/``fc2`` and quantisers need to see.
            Settable at any time (``model.backbone.fast_paths = False``).
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
        drop_path_scale_by_keep: bool = True,
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
        fast_paths: bool = True,
        init_cfg: dict | list | None = None,
    ):
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = self._resolve_arch(arch)
        self.embed_dims = self.arch_settings['embed_dims']
        self.num_layers = self.arch_settings['num_layers']
        self.img_size = size_pair(img_size, 'img_size')
        if not isinstance(frozen_stages, int) or frozen_stages < -1:
            raise ConfigValueError(
                f'frozen_stages={frozen_stages!r}: use -1 (nothing), 0 (the stem) or k > 0 (the stem and k blocks)'
            )
        self.norm_cfg = dict(norm_cfg or dict(type='LN', eps=1e-6))
        self.act_cfg = {'type': 'GELU', **(act_cfg or {})}  # a partial override (approximate=tanh) keeps GELU
        self.out_type = one_of(out_type, 'out_type', OUT_TYPES)
        self.token_mixing = one_of(token_mixing, 'token_mixing', TOKEN_MIXING_MODES)
        self.final_norm = final_norm
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        patch_size = whole_number(patch_size, 'patch_size')
        in_channels = whole_number(in_channels, 'in_channels')
        self.stem = PatchEmbed(in_channels, self.embed_dims, **patch_embed_kwargs(patch_size, patch_cfg))
        self.patch_size = self.stem.proj.kernel_size
        self.patch_resolution = self.stem.output_size(self.img_size)
        if min(self.patch_resolution) < 1:
            raise ConfigValueError(
                f'img_size={img_size} gives no tokens with patch kernel {self.patch_size} and padding '
                f'{patch_cfg.get("padding") if patch_cfg else "corner"}: use a larger img_size or a smaller patch'
            )
        self.out_indices = self._resolve_out_indices(out_indices)

        block_defaults = dict(
            num_tokens=self.patch_resolution[0] * self.patch_resolution[1],
            embed_dims=self.embed_dims,
            tokens_mlp_dims=self.arch_settings['tokens_mlp_dims'],
            channels_mlp_dims=self.arch_settings['channels_mlp_dims'],
            drop_rate=probability(drop_rate, 'drop_rate', one_allowed=False),
            drop_path_scale_by_keep=drop_path_scale_by_keep,
            act_cfg=self.act_cfg,
            norm_cfg=self.norm_cfg,
        )
        drop_path_rates = self._drop_path_rates(drop_path_rate, drop_path_mode)
        overrides = self._layer_overrides(layer_cfgs)
        self.blocks = nn.ModuleList(
            MixerBlock(**(block_defaults | {'drop_path_rate': rate} | override))  # later dicts win
            for rate, override in zip(drop_path_rates, overrides, strict=True)
        )
        self.norm = build_norm(self.norm_cfg, self.embed_dims) if final_norm else nn.Identity()
        self.fast_paths = fast_paths

        self._register_load_state_dict_pre_hook(self._adapt_incoming_state_dict)
        self._freeze_stages()

    @property
    def fast_paths(self) -> bool:
        """Whether the token-mixing MLPs run as GEMMs on the token-major layout (see the ``fast_paths`` argument)."""
        return all(block.mlp_tokens.token_gemm for block in self.blocks)

    @fast_paths.setter
    def fast_paths(self, on: bool) -> None:
        if not isinstance(on, bool):
            raise ConfigTypeError(f'fast_paths must be True or False, got {on!r}')
        for block in self.blocks:
            block.mlp_tokens.token_gemm = on

    # ------------------------------------------------------------------ construction helpers
    def _drop_path_rates(self, rate: float, mode: str) -> list[float]:
        """Each block's stochastic-depth rate: ``rate`` for all (``'uniform'``), or big_vision's ramp (``'linear'``)."""
        rate = probability(rate, 'drop_path_rate')
        if one_of(mode, 'drop_path_mode', ('uniform', 'linear')) == 'uniform':
            return [rate] * self.num_layers
        return [i / max(self.num_layers - 1, 1) * rate for i in range(self.num_layers)]

    def _layer_overrides(self, layer_cfgs: dict | Sequence[dict] | None) -> list[dict]:
        """``layer_cfgs`` as one override dict per block (e.g. its own ``drop_path_rate``); the block shapes are the
        backbone's to derive."""
        if isinstance(layer_cfgs, dict) or layer_cfgs is None:
            layer_cfgs = [layer_cfgs or {}] * self.num_layers
        if len(layer_cfgs) != self.num_layers:
            raise ConfigValueError(
                f'layer_cfgs has {len(layer_cfgs)} entries but the arch has {self.num_layers} blocks'
            )
        overrides = []
        for i, layer_cfg in enumerate(layer_cfgs):
            fixed = sorted(set(layer_cfg) & set(BLOCK_SHAPE_KEYS))
            if fixed:
                raise ConfigValueError(
                    f'layer_cfgs[{i}] sets {fixed}, which the backbone derives (num_tokens from img_size and '
                    'patch_size, embed_dims from arch); set those instead'
                )
            overrides.append(dict(layer_cfg))
        return overrides

    @staticmethod
    def _resolve_arch(arch: str | dict) -> dict:
        if isinstance(arch, str):
            if arch.lower() not in ARCH_ZOO:
                raise ConfigValueError(f'arch={arch!r} is unknown; choose one of {sorted(ARCH_ZOO)} or pass a dict')
            return dict(ARCH_ZOO[arch.lower()])
        if not isinstance(arch, dict):
            raise ConfigTypeError(f'arch must be a name or a dict, got {type(arch).__name__}')
        missing = [key for key in ARCH_KEYS if key not in arch]
        unknown = sorted(set(arch) - set(ARCH_KEYS))
        if missing or unknown:
            raise ConfigValueError(
                f'custom arch dict: missing keys {missing}, unknown keys {unknown}; it needs exactly {list(ARCH_KEYS)}'
            )
        return {key: whole_number(arch[key], f'arch.{key}') for key in ARCH_KEYS}

    def _resolve_out_indices(self, out_indices: int | Sequence[int]) -> list[int]:
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        if not isinstance(out_indices, Sequence):
            raise ConfigTypeError(f'out_indices must be an int or a sequence of ints, got {type(out_indices).__name__}')
        resolved = []
        for index in out_indices:
            if isinstance(index, bool) or not isinstance(index, int):
                raise ConfigTypeError(f'out_indices entry {index!r} is not an int; give block indices such as -1')
            if not -self.num_layers <= index < self.num_layers:
                raise ConfigValueError(
                    f'out_indices entry {index} is out of range for {self.num_layers} blocks; '
                    f'use 0..{self.num_layers - 1} or -{self.num_layers}..-1'
                )
            resolved.append(index % self.num_layers)
        return sorted(set(resolved))

    def _adapt_incoming_state_dict(self, state_dict, prefix, *args) -> None:
        """Load-time pre-hook: take mmpretrain's names and token-mixing weights of another grid."""
        adapt_state_dict(self, state_dict, prefix)

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
        name = backbone_key(param_name, prefix)
        if name is None:
            return num_depths - 1, num_depths
        if name.startswith('stem.'):
            return 0, num_depths
        if name.startswith('blocks.'):
            return int(name.split('.')[1]) + 1, num_depths
        return num_depths - 1, num_depths

    # ------------------------------------------------------------------ forward
    def _check_input_size(self, x: torch.Tensor) -> None:
        if self.token_mixing == 'global' and tuple(x.shape[-2:]) != self.img_size:
            h, w = self.img_size
            raise InputSizeError(
                f'MlpMixer was built for {h}x{w} inputs (a {self.patch_resolution[0]}x{self.patch_resolution[1]} '
                f'token grid) but got {x.shape[-2]}x{x.shape[-1]}: resize the input to {h}x{w}, or build the '
                "backbone with token_mixing='window' to accept any size."
            )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        self._check_input_size(x)
        feat = self.stem(x)
        grid = tuple(feat.shape[-2:])
        x, pad_mask = to_windows(feat, self.patch_resolution)
        del feat  # the windows are a copy: the stem's output need not live through the blocks
        outs = []
        last = self.num_layers - 1
        for i, block in enumerate(self.blocks):
            if self.with_cp and self.training and x.requires_grad:
                x = checkpoint(block, x, pad_mask, use_reentrant=False)
            else:
                x = block(x, pad_mask)
            if i == last:
                x = self.norm(x)
            if i in self.out_indices:
                outs.append(format_output(x, self.patch_resolution, grid, self.out_type))
        return tuple(outs)
