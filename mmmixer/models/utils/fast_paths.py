"""The checks and kernels behind the Mixer's fast variants; what they are is said once, in ``MixerBlock``'s
docstring (:mod:`mmmixer.models.backbones.mlp_mixer`). :func:`inlinable` is the one test all of them share: a
module's call may be replaced by its arithmetic only when nobody can observe or change the call.
"""

from __future__ import annotations

import torch
import torch.nn.modules.module as nn_module
from torch import nn


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


def linear_over_tokens(fc: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``fc`` applied along the first (token) axis of a token-major tensor: one GEMM, no transposes."""
    if inlinable(fc, nn.Linear):
        out = torch.addmm(fc.bias[:, None], fc.weight, x.reshape(x.shape[0], -1))
        return out.view(-1, *x.shape[1:])
    # A hooked or swapped layer gets the usual call: tokens on the last axis.
    return fc(x.movedim(0, -1)).movedim(-1, 0)


def activate(act: nn.Module, fc1: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    """``act(hidden)`` for ``hidden = fc1(...)``; written into ``hidden`` when that is invisible."""
    if not torch.is_grad_enabled() and inlinable(fc1, nn.Linear) and inlinable(act, nn.GELU):
        # Same kernel, but writes into fc1's output (a buffer nobody else holds) instead of a new one.
        return torch.ops.aten.gelu_(hidden, approximate=act.approximate)
    return act(hidden)
