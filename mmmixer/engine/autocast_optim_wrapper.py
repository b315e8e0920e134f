"""Mixed precision without a loss scaler, for bfloat16.

mmengine's ``AmpOptimWrapper`` always scales the loss with a ``GradScaler``: needed for float16, whose
narrow exponent range lets small gradients underflow, but pure overhead for bfloat16, which has
float32's range (an extra multiply of the loss, an unscale pass over every gradient and an inf/NaN
check per step). It also refuses to run without a GPU. This wrapper only autocasts the forward pass
and otherwise behaves exactly like mmengine's plain ``OptimWrapper`` (clipping, accumulation, state).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from mmmixer.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` runs the forward pass under ``torch.autocast``.

    Args:
        dtype: Autocast dtype; only ``'bfloat16'`` (float16 needs loss scaling: use mmengine's
            ``AmpOptimWrapper`` with ``dtype='float16'``).
        **kwargs: ``OptimWrapper`` arguments (``optimizer``, ``clip_grad``, ``accumulative_counts``).
    """

    def __init__(self, dtype: str | torch.dtype = 'bfloat16', **kwargs):
        super().__init__(**kwargs)
        dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        if dtype != torch.bfloat16:
            raise ValueError(
                f'AutocastOptimWrapper runs without a loss scaler, which only bfloat16 allows (got {dtype}); '
                "for float16 use dict(type='AmpOptimWrapper', dtype='float16')"
            )
        self.cast_dtype = dtype

    @contextmanager
    def optim_context(self, model: nn.Module):
        device_type = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(device_type=device_type, dtype=self.cast_dtype):
            yield

    def load_state_dict(self, state_dict: dict) -> None:
        # A checkpoint written by AmpOptimWrapper (float16 training) carries its scaler's state.
        state_dict = {key: value for key, value in state_dict.items() if key != 'loss_scaler'}
        super().load_state_dict(state_dict)
