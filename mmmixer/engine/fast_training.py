"""What `tools/train.py` and `tools/test.py` change in a config to run at the hardware's speed.

Shared by the command lines and by the benchmark's ``mmmixer config-step`` row, so that the step the
benchmark times is the step a user trains with:

* mixed precision that fits the device (:func:`use_amp`): bfloat16 without a loss scaler where it is
  supported, float16 with mmengine's ``AmpOptimWrapper`` (dynamic loss scaling) otherwise;
* fused optimizer kernels (:func:`use_fused_optimizer`): one kernel for all parameters instead of a
  loop of small ones;
* ``torch.compile`` of the modules that do the work, in place (:func:`compile_in_place`).
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from mmmixer.errors import ConfigValueError

AMP_DTYPES = ('bfloat16', 'float16')
# Optimizers whose torch implementation takes ``fused=True``.
FUSABLE_OPTIMIZERS = ('Adam', 'AdamW', 'SGD')
# Submodules compiled by compile_in_place: a classifier's three parts, a detector's backbone and neck.
COMPILED_PARTS = ('backbone', 'neck', 'head')
# Wrapper types that --amp may replace.
PLAIN_OPTIM_WRAPPERS = ('OptimWrapper', 'AmpOptimWrapper', 'mmmixer.AutocastOptimWrapper')


def default_device_type() -> str:
    """The device mmengine's Runner trains on when nothing else is said."""
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def default_amp_dtype(device_type: str | None = None) -> str:
    """bfloat16 where the device computes in it (recent GPUs, CPUs), else float16."""
    device_type = device_type or default_device_type()
    if device_type == 'cuda' and not torch.cuda.is_bf16_supported():
        return 'float16'
    return 'bfloat16'


def use_amp(optim_wrapper: dict, dtype: str, device_type: str | None = None) -> None:
    """Turn an optimizer-wrapper config into mixed-precision training in ``dtype`` (in place).

    bfloat16 has float32's exponent range, so it needs no loss scaling: ``mmmixer.AutocastOptimWrapper``.
    float16 gets mmengine's ``AmpOptimWrapper`` with a dynamic loss scaler (GPU only).
    """
    if dtype not in AMP_DTYPES:
        raise ValueError(f'AMP dtype {dtype!r} is not supported; choose one of {AMP_DTYPES}')
    current = optim_wrapper.get('type', 'OptimWrapper')
    if current not in PLAIN_OPTIM_WRAPPERS:
        raise ValueError(
            f'--amp cannot replace the configured optim_wrapper type {current!r}; set mixed precision in the '
            'config instead'
        )
    device_type = device_type or default_device_type()
    if dtype == 'float16' and device_type != 'cuda':
        raise ValueError(
            'float16 mixed precision needs a GPU (its loss scaler is CUDA-only in mmengine); '
            'use --amp-dtype bfloat16 on this device'
        )
    if dtype == 'bfloat16':
        optim_wrapper['type'] = 'mmmixer.AutocastOptimWrapper'
        optim_wrapper.pop('loss_scale', None)
    else:
        optim_wrapper['type'] = 'AmpOptimWrapper'
        optim_wrapper.setdefault('loss_scale', 'dynamic')
    optim_wrapper['dtype'] = dtype


@functools.cache
def has_fused_kernel(optimizer: str, device_type: str) -> bool:
    """Whether torch has a fused kernel of ``optimizer`` (``'AdamW'``, ...) on ``device_type``: asked of torch itself,
    by building that optimizer with ``fused=True`` over one parameter on the device (it refuses where it has none)."""
    try:
        parameter = torch.zeros(1, device=device_type, requires_grad=True)
        getattr(torch.optim, optimizer)([parameter], lr=0.1, fused=True)
    except (RuntimeError, ValueError, TypeError):
        return False
    return True


def use_fused_optimizer(optim_wrapper: dict, device_type: str | None = None) -> bool:
    """Ask for torch's fused kernels when the optimizer and the device have them (in place).

    An explicit ``fused`` or ``foreach`` in the config is left as it is. Returns whether it was set.
    """
    optimizer = optim_wrapper.get('optimizer')
    if not isinstance(optimizer, dict) or 'fused' in optimizer or 'foreach' in optimizer:
        return False
    optimizer_type = optimizer.get('type')
    name = optimizer_type if isinstance(optimizer_type, str) else getattr(optimizer_type, '__name__', '')
    if name.removeprefix('torch.optim.') not in FUSABLE_OPTIMIZERS:
        return False
    if not has_fused_kernel(name.removeprefix('torch.optim.'), device_type or default_device_type()):
        return False
    optimizer['fused'] = True
    return True


def compile_options(value) -> dict | None:
    """mmengine's ``compile`` setting (``True``, ``False``, ``None`` or a dict) as ``torch.compile`` kwargs."""
    if value is None or value is False:
        return None
    if value is True:
        return {}
    if isinstance(value, dict):
        return dict(value)
    raise ConfigValueError(f'compile must be True, False or a dict of torch.compile arguments, got {value!r}')


def compile_in_place(model: nn.Module, options: dict) -> list[str]:
    """``nn.Module.compile`` the model's backbone, neck and head; returns the names compiled.

    In place, so parameter names and state-dict keys stay the same (checkpoints load into an
    uncompiled model) and the optimizer, data preprocessor and loss stay eager: compiling mmengine's
    whole ``train_step`` would also trace its optimizer wrapper and logging, which dynamo cannot.
    """
    compiled = []
    for name in COMPILED_PARTS:
        part = getattr(model, name, None)
        if isinstance(part, nn.Module):
            part.compile(**options)
            compiled.append(name)
    return compiled
