"""A feature pyramid from Mixer's single stride-16 map, for detection heads.

Follows the simple-pyramid idea of ViTDet (Li et al., "Exploring Plain Vision Transformer Backbones
for Object Detection", 2022): a plain backbone's last map is rescaled by fixed factors (deconvolutions
up, max-pooling down) and each level gets a 1x1 and a 3x3 convolution. No top-down path.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import nn

from mmmixer.errors import ConfigValueError
from mmmixer.registry import MODELS

SCALE_FACTORS = (4.0, 2.0, 1.0, 0.5)


@MODELS.register_module(name='LN2d')
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map (``dict(type='mmmixer.LN2d')`` from any scope).

    The output is a contiguous NCHW tensor, not a permuted view: mmcv's RoIAlign reads its input's
    memory as NCHW whatever the strides, so a channels-last view gave Mask R-CNN's RoI heads
    scrambled features (they never learned).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).contiguous()


@MODELS.register_module()
class MixerPyramidNeck(BaseModule):
    """Turn one stride-s map into maps at strides s / scale for each of ``scale_factors``.

    Args:
        in_channels: Channels of the backbone map (768 for Mixer-B).
        out_channels: Channels of every output level.
        scale_factors: Rescaling of the input map per level; 4, 2, 1, 0.5 turn stride 16 into
            strides 4, 8, 16, 32.
        num_extra_levels: Further levels made by stride-2 max-pooling of the last one (e.g. P6 for
            an RPN, P6 + P7 for RetinaNet).
        in_index: Which backbone output to use when it returns several.
        norm_cfg: Norm of the upsampling path and the output convolutions; LayerNorm over channels
            by default, as ViTDet. Any mmcv norm works (``dict(type='GN', num_groups=32)``, BN ...).
        act_cfg: Activation between the two deconvolutions of a 4x level.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int = 256,
        scale_factors: Sequence[float] = (4.0, 2.0, 1.0, 0.5),
        num_extra_levels: int = 0,
        in_index: int = -1,
        norm_cfg: dict | None = None,
        act_cfg: dict | None = None,
        init_cfg: dict | list | None = None,
    ):
        super().__init__(init_cfg=init_cfg)
        self._check_arguments(in_channels, out_channels, scale_factors, num_extra_levels)
        norm_cfg = dict(norm_cfg or dict(type='mmmixer.LN2d', eps=1e-6))
        act_cfg = dict(act_cfg or dict(type='GELU'))
        self.scale_factors = tuple(float(f) for f in scale_factors)
        self.num_extra_levels = num_extra_levels
        self.in_index = in_index
        self.rescale = nn.ModuleList(
            self._rescaler(factor, in_channels, norm_cfg, act_cfg) for factor in self.scale_factors
        )
        self.lateral_convs = nn.ModuleList()
        self.output_convs = nn.ModuleList()
        for factor in self.scale_factors:
            channels = in_channels // 4 if factor == 4.0 else in_channels // 2 if factor == 2.0 else in_channels
            self.lateral_convs.append(ConvModule(channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None))
            self.output_convs.append(
                ConvModule(out_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=None)
            )
        self.extra_pool = nn.MaxPool2d(kernel_size=1, stride=2)

    @staticmethod
    def _check_arguments(in_channels, out_channels, scale_factors, num_extra_levels) -> None:
        for name, value in (('in_channels', in_channels), ('out_channels', out_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigValueError(f'{name}={value!r} must be a positive int')
        if isinstance(num_extra_levels, bool) or not isinstance(num_extra_levels, int) or num_extra_levels < 0:
            raise ConfigValueError(f'num_extra_levels={num_extra_levels!r} must be an int >= 0')
        if isinstance(scale_factors, str) or not isinstance(scale_factors, Sequence) or not scale_factors:
            raise ConfigValueError(f'scale_factors={scale_factors!r} must be a non-empty list, e.g. (4, 2, 1, 0.5)')
        for factor in scale_factors:
            if isinstance(factor, bool) or not isinstance(factor, int | float) or float(factor) not in SCALE_FACTORS:
                raise ConfigValueError(f'scale factor {factor!r} is not supported; use 4, 2, 1 or 0.5')
            divisor = {4.0: 4, 2.0: 2}.get(float(factor), 1)
            if in_channels % divisor:
                raise ConfigValueError(
                    f'in_channels={in_channels} cannot be split for the {float(factor):g}x level, which needs '
                    f'channels divisible by {divisor}: set in_channels to the backbone embed_dims'
                )

    @staticmethod
    def _rescaler(factor: float, channels: int, norm_cfg: dict, act_cfg: dict) -> nn.Module:
        if factor == 4.0:
            return nn.Sequential(
                nn.ConvTranspose2d(channels, channels // 2, 2, stride=2),
                build_norm_layer(norm_cfg, channels // 2)[1],
                build_activation_layer(act_cfg),
                nn.ConvTranspose2d(channels // 2, channels // 4, 2, stride=2),
            )
        if factor == 2.0:
            return nn.ConvTranspose2d(channels, channels // 2, 2, stride=2)
        if factor == 1.0:
            return nn.Identity()
        if factor == 0.5:
            return nn.MaxPool2d(kernel_size=2, stride=2)
        raise ConfigValueError(f'scale factor {factor} is not supported; use 4, 2, 1 or 0.5')

    def forward(self, inputs: Sequence[torch.Tensor] | torch.Tensor) -> tuple[torch.Tensor, ...]:
        feature = inputs if isinstance(inputs, torch.Tensor) else inputs[self.in_index]
        if feature.dim() != 4:
            raise ConfigValueError(
                f'MixerPyramidNeck needs an NCHW map, got shape {tuple(feature.shape)}; '
                "build the backbone with out_type='featmap'"
            )
        outs = [
            output(lateral(rescale(feature)))
            for rescale, lateral, output in zip(self.rescale, self.lateral_convs, self.output_convs, strict=True)
        ]
        for _ in range(self.num_extra_levels):
            outs.append(self.extra_pool(outs[-1]))
        return tuple(outs)
