"""Parameter and FLOP counts of a config's model, by mmengine's counter (one multiply-add = 1 FLOP)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config

from mmmixer.models.builders import build_in_scope


@dataclass(frozen=True)
class ModelComplexity:
    params: int
    flops: int
    input_shape: tuple[int, int, int]
    table: str

    def summary(self) -> str:
        c, h, w = self.input_shape
        return (
            f'Input shape: ({c}, {h}, {w})\n'
            f'Params: {self.params / 1e6:.2f} M ({self.params:,})\n'
            f'FLOPs: {self.flops / 1e9:.2f} G ({self.flops:,})'
        )


def build_model_from_config(cfg: Config) -> torch.nn.Module:
    """Build ``cfg.model`` in the config's scope (mmpretrain unless it says otherwise)."""
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings

        import_modules_from_strings(**cfg.custom_imports)
    return build_in_scope(cfg.model, cfg.get('default_scope', 'mmpretrain'))


def model_input_size(model: torch.nn.Module) -> tuple[int, int]:
    """The ``(H, W)`` a model was built for: its backbone's ``img_size`` (224 x 224 where it has none)."""
    size = getattr(getattr(model, 'backbone', None), 'img_size', 224)
    return (size, size) if isinstance(size, int) else tuple(size)


def measure_complexity(cfg: Config, input_size: tuple[int, int] | None = None) -> ModelComplexity:
    """Params and FLOPs of ``cfg.model`` on one ``3 x H x W`` image (by default of the size it was built for)."""
    model = build_model_from_config(cfg).eval()
    input_shape = (3, *(input_size or model_input_size(model)))
    with torch.no_grad():
        info = get_model_complexity_info(model, input_shape=input_shape, show_table=True, show_arch=False)
    return ModelComplexity(
        params=int(info['params']), flops=int(info['flops']), input_shape=input_shape, table=info['out_table']
    )
