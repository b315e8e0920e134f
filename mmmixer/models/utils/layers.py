"""The building blocks of a Mixer: its MLP, patch embedding, norm and stochastic depth."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer
from torch import nn

from mmmixer.errors import ConfigValueError
from mmmixer.models.utils.arguments import size_pair
from mmmixer.models.utils.export_safe import ceil_div, exporting

MLP_AXES = ('channels', 'tokens')


def build_norm(norm_cfg: dict, num_features: int) -> nn.LayerNorm:
    """A LayerNorm over channels from an mmcv-style config (``type='LN'``; ``eps`` defaults to 1e-5).

    Mixer normalises each token over its channels, which only LayerNorm does; it is built here
    directly, so no registry lookup depends on the caller's scope.
    """
    cfg = dict(norm_cfg)
    norm_type = cfg.pop('type', 'LN')
    if norm_type not in ('LN', 'LayerNorm', nn.LayerNorm):
        raise ConfigValueError(
            f"norm_cfg type={norm_type!r} is not supported by MlpMixer; use dict(type='LN', eps=...)"
        )
    cfg.pop('requires_grad', None)
    return nn.LayerNorm(num_features, **cfg)


def drop_path(x: torch.Tensor, drop_prob: float, training: bool, scale_by_keep: bool = True) -> torch.Tensor:
    """Stochastic depth for token-major tensors: drops whole images (dim 1) of the residual branch.

    ``scale_by_keep=True`` (timm's and mmpretrain's convention) divides kept images by the keep
    probability, so the branch keeps its expected value; ``False`` multiplies by the bare 0/1 mask, as
    big_vision's Mixer does (``_stoch_depth_mask``). ``drop_prob=1`` drops every image (a zero branch).
    """
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1.0 - drop_prob
    mask_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    mask = x.new_empty(mask_shape).bernoulli_(keep_prob)
    if scale_by_keep and keep_prob > 0.0:
        mask.div_(keep_prob)
    return x * mask


class Mlp(nn.Module):
    """Linear -> activation -> dropout -> Linear -> dropout along one axis of a token-major (N, B, W, C) tensor.

    ``axis='channels'`` mixes the last axis (Mixer's channel MLP); ``axis='tokens'`` the first (the token MLP).

    The one fast path of the model (:meth:`linear`): on the token axis, while ``token_gemm`` is on, each Linear
    is one matrix product with the tokens as rows, ``weight @ x.view(N, -1) + bias``, instead of the module
    call on a transposed view: the same function, without the transposes, 12% faster in bf16
    (docs/benchmark.md). It uses the Linear's parameters without calling it, so a forward hook on the token
    MLP's ``fc1``/``fc2`` does not fire: set ``MlpMixer.fast_paths = False`` (which clears ``token_gemm``) to
    observe them, or to let a quantiser see them as Linear layers. A Linear subclass (LoRA, a quantised layer)
    or a patched ``forward`` is always called as a module.
    """

    def __init__(
        self, features: int, hidden_features: int, act_cfg: dict, drop_rate: float = 0.0, axis: str = 'channels'
    ):
        super().__init__()
        if axis not in MLP_AXES:
            raise ValueError(f'axis={axis!r} is not supported; choose one of {MLP_AXES}')
        self.axis = axis
        self.token_gemm = axis == 'tokens'
        self.fc1 = nn.Linear(features, hidden_features)
        self.act = build_activation_layer(act_cfg)
        self.drop1 = nn.Dropout(drop_rate)
        self.fc2 = nn.Linear(hidden_features, features)
        self.drop2 = nn.Dropout(drop_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop1(self.act(self.linear(self.fc1, x)))
        return self.drop2(self.linear(self.fc2, x))

    def linear(self, fc: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """``fc`` applied along this MLP's axis."""
        if self.axis == 'channels':
            return fc(x)
        if self.token_gemm and type(fc) is nn.Linear and fc.bias is not None and 'forward' not in fc.__dict__:
            out = torch.addmm(fc.bias[:, None], fc.weight, x.reshape(x.shape[0], -1))
            return out.view(-1, *x.shape[1:])
        return fc(x.movedim(0, -1)).movedim(-1, 0)

    def extra_repr(self) -> str:
        return f'axis={self.axis!r}' + (', token_gemm=True' if self.axis == 'tokens' and self.token_gemm else '')


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
            raise ConfigValueError(f"patch padding={padding!r} is not supported; use 'corner', 'same' or a number")
        kernel_size = size_pair(kernel_size, 'patch kernel_size')
        stride = size_pair(stride, 'patch stride') if stride is not None else kernel_size
        if not isinstance(padding, str):
            padding = size_pair(padding, 'patch padding', minimum=0)
        self.adaptive_padding = padding if isinstance(padding, str) else None
        self.proj = nn.Conv2d(
            in_channels,
            embed_dims,
            kernel_size,
            stride=stride,
            padding=0 if self.adaptive_padding else padding,
            bias=bias,
        )
        self.norm = build_norm(norm_cfg, embed_dims) if norm_cfg else None

    def _adaptive_pad(self, size: tuple[int, int]) -> tuple[int, int]:
        """Padding (height, width) that makes the last patch end at or past the last pixel."""
        k, s = self.proj.kernel_size, self.proj.stride
        # No max(.., 0) when the kernel covers its stride (patches): it could not be exported with symbolic sizes.
        pads = [(ceil_div(size[i], s[i]) - 1) * s[i] + k[i] - size[i] for i in range(2)]
        return tuple(pad if k[i] >= s[i] else max(pad, 0) for i, pad in enumerate(pads))

    def output_size(self, size: tuple[int, int]) -> tuple[int, int]:
        k, s, p = self.proj.kernel_size, self.proj.stride, self.proj.padding
        extra = self._adaptive_pad(size) if self.adaptive_padding else (0, 0)
        return tuple((size[i] + 2 * p[i] + extra[i] - k[i]) // s[i] + 1 for i in range(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.adaptive_padding:
            pad_h, pad_w = self._adaptive_pad(tuple(x.shape[-2:]))
            if exporting() or pad_h or pad_w:
                if self.adaptive_padding == 'corner':
                    x = F.pad(x, (0, pad_w, 0, pad_h))
                else:
                    x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        x = self.proj(x)
        if self.norm is not None:
            x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return x


def patch_embed_kwargs(patch_size: int, patch_cfg: dict | None) -> dict:
    """:class:`PatchEmbed`'s arguments from the backbone's ``patch_size`` and an mmcv-style ``patch_cfg``."""
    cfg = dict(patch_cfg or {})
    # Keys that mmcv's PatchEmbed takes but that are implied here (input_size is img_size).
    for implied in ('input_size', 'embed_dims', 'in_channels', 'init_cfg'):
        cfg.pop(implied, None)
    conv_type = cfg.pop('conv_type', 'Conv2d')
    if conv_type != 'Conv2d':
        raise ConfigValueError(f"patch_cfg conv_type={conv_type!r} is not supported; only 'Conv2d'")
    if cfg.pop('dilation', 1) not in (1, (1, 1), [1, 1]):
        raise ConfigValueError('patch_cfg dilation must be 1')
    kwargs = dict(kernel_size=cfg.pop('kernel_size', patch_size), stride=cfg.pop('stride', None))
    for key in ('padding', 'bias', 'norm_cfg'):
        if key in cfg:
            kwargs[key] = cfg.pop(key)
    if cfg:
        raise ConfigValueError(
            f'patch_cfg keys {sorted(cfg)} are not supported; use kernel_size, stride, padding, bias, norm_cfg'
        )
    return kwargs
