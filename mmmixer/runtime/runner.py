"""What the command lines apply to a config's Runner: dataloader settings, CPU distributed set-up, compile, and
prompt worker shutdown when the run ends.

Errors are raised (``ValueError``), never turned into an exit here; torch is imported only when a function needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mmengine.config import Config

Result = TypeVar('Result')

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def use_fast_dataloaders(cfg: Config, pin_memory: bool = True, persistent_workers: bool = True) -> None:
    """Pinned memory and persistent workers for every dataloader, unless the config says otherwise
    (``pin_memory`` / ``persistent_workers`` False turn them off whatever the config says). Memory is pinned
    only where there is a GPU to copy to: without one torch can only warn that it cannot pin."""
    import torch

    pin_memory = pin_memory and torch.cuda.is_available()
    for name in DATALOADERS:
        loader = cfg.get(name)
        if not loader:
            continue
        loader.setdefault('pin_memory', True)
        loader.setdefault('persistent_workers', True)
        if not pin_memory:
            loader.pin_memory = False
        if not persistent_workers:
            loader.persistent_workers = False


def drop_persistent_workers_without_workers(cfg: Config) -> None:
    """torch refuses ``persistent_workers=True`` with ``num_workers=0`` (e.g. set by --cfg-options)."""
    for name in DATALOADERS:
        loader = cfg.get(name)
        if loader and loader.get('num_workers', 0) == 0:
            loader.persistent_workers = False


def prepare_cpu_distributed(cfg: Config) -> None:
    """Let torchrun launches work without GPUs (gloo on CPU); with CUDA nothing changes.

    mmengine's pytorch launcher always calls ``torch.cuda.set_device`` and wraps the model with
    ``device_ids=[local_rank]``, both of which fail without CUDA. Here the process group is started
    with gloo (mmengine then skips its own set-up) and the model wrapped without device ids.
    """
    import torch
    import torch.distributed as dist

    if torch.cuda.is_available():
        return
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False)


def build_runner(cfg: Config, compile_flag: bool = False):
    """``Runner.from_cfg``, with ``--compile`` / ``cfg.compile`` applied to the model in place.

    mmengine's own ``compile`` setting compiles the whole ``train_step`` (optimizer wrapper, AMP
    context, logging), which dynamo cannot trace; it is taken out of the config here and applied to
    the backbone, neck and head instead (:func:`mmmixer.runtime.fast_training.compile_in_place`).
    Raises ``ConfigValueError`` for a ``compile`` setting that is neither a bool nor a dict.
    """
    from mmengine.model import is_model_wrapper
    from mmengine.runner import Runner

    from mmmixer.runtime.fast_training import compile_in_place, compile_options

    options = compile_options(cfg.pop('compile', None))
    if compile_flag and options is None:
        options = {}
    runner = Runner.from_cfg(cfg)
    if options is not None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        compiled = compile_in_place(model, options)
        runner.logger.info(f'torch.compile({options}) in place: {", ".join(compiled) or "nothing to compile"}')
    return runner


def run_then_close_workers(runner, run: Callable[[], Result]) -> Result:
    """``run()`` (``runner.train`` / ``runner.test``), then stop the dataloader workers whatever happened."""
    from mmmixer.runtime.dataloader_shutdown import close_dataloader_workers, runner_dataloaders

    try:
        return run()
    finally:
        close_dataloader_workers(runner_dataloaders(runner))
