"""Pieces shared by the command lines (train and test above all)."""

from __future__ import annotations

import argparse
import contextlib
import os
import os.path as osp
import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

from mmengine.config import Config, DictAction

from mmmixer.packaged_configs import find_config

Result = TypeVar('Result')

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def usage_error(message: str, prog: str | None = None) -> NoReturn:
    """End a command line on bad input: one ``[prog: ]error:`` line (more only for lists), exit code 2."""
    print(f'{prog}: error: {message}' if prog else f'error: {message}', file=sys.stderr)
    raise SystemExit(2)


@contextlib.contextmanager
def reported_checkpoint_errors():
    """A checkpoint that is refused, not a checkpoint, damaged or not downloadable: one line, exit 2."""
    from mmmixer.checkpoint import CheckpointError

    try:
        yield
    except CheckpointError as error:
        usage_error(str(error))


def drop_persistent_workers_without_workers(cfg: Config) -> None:
    """torch refuses ``persistent_workers=True`` with ``num_workers=0`` (e.g. set by --cfg-options)."""
    for name in DATALOADERS:
        loader = cfg.get(name)
        if loader and loader.get('num_workers', 0) == 0:
            loader.persistent_workers = False


def config_command_parser(prog: str | None, description: str, config_help: str) -> argparse.ArgumentParser:
    """A parser whose first argument is a config: a file, or the name of one of mmmixer's configs."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument('config', help=f"{config_help}: a file, or one of mmmixer's (configs/mixer-b16_in1k.py)")
    return parser


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (lists: key="[a,b]"); merged after the other flags',
    )
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile the backbone, neck and head in place (same as --cfg-options compile=True; '
        'compile=dict(...) passes torch.compile arguments)',
    )
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def set_local_rank(args: argparse.Namespace) -> None:
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))


def default_work_dir(config_path: str) -> str:
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def load_config(name: str) -> Config:
    """Read a config (a file, or one of mmmixer's by name) without importing its ``custom_imports`` yet
    (see :func:`prepare_runtime`)."""
    try:
        path = find_config(name)
    except FileNotFoundError as error:
        usage_error(str(error))
    return Config.fromfile(path, import_custom_modules=False)


def runner_from_args(
    args: argparse.Namespace, apply_flags: Callable[[Config, argparse.Namespace], None], dataloaders: tuple[str, ...]
):
    """What train and test share: the config with the flags applied, the cheap checks, then the Runner.

    ``apply_flags`` applies the command's own flags and then ``--cfg-options`` (so those win).
    """
    set_local_rank(args)
    cfg = load_config(args.config)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    apply_flags(cfg, args)
    drop_persistent_workers_without_workers(cfg)
    check_datasets_exist(cfg, dataloaders)
    prepare_runtime(cfg)
    return build_runner(cfg, args.compile)


def run_to_the_end(runner, run: Callable[[], Result]) -> Result:
    """``run()`` (``runner.train`` / ``runner.test``): a refused or broken checkpoint is one line (exit 2),
    and the dataloader workers are stopped whatever happens."""
    from mmmixer.runtime.dataloader_shutdown import close_dataloader_workers, runner_dataloaders

    with reported_checkpoint_errors():
        try:
            return run()
        finally:
            close_dataloader_workers(runner_dataloaders(runner))


def prepare_runtime(cfg: Config) -> None:
    """The heavy imports, done after the cheap checks so that bad input fails within a second:
    mmmixer (models, safe checkpoint loading) and the config's ``custom_imports``."""
    import mmmixer  # noqa: F401
    from mmmixer.compiled_ops import check_compiled_ops

    check_compiled_ops(cfg)  # a detection config on mmcv without its compiled ops: one line, exit 2

    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings

        import_modules_from_strings(**cfg.custom_imports)
    if cfg.get('launcher') == 'pytorch':
        prepare_cpu_distributed(cfg)


def build_runner(cfg: Config, compile_flag: bool = False):
    """``Runner.from_cfg``, with ``--compile`` / ``cfg.compile`` applied to the model in place.

    mmengine's own ``compile`` setting compiles the whole ``train_step`` (optimizer wrapper, AMP
    context, logging), which dynamo cannot trace; it is taken out of the config here and applied to
    the backbone, neck and head instead (:func:`mmmixer.runtime.fast_training.compile_in_place`).
    """
    from mmengine.model import is_model_wrapper
    from mmengine.runner import Runner

    from mmmixer.runtime.fast_training import compile_in_place, compile_options

    try:
        options = compile_options(cfg.pop('compile', None))
    except ValueError as error:
        usage_error(str(error))
    if compile_flag and options is None:
        options = {}
    runner = Runner.from_cfg(cfg)
    if options is not None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        compiled = compile_in_place(model, options)
        runner.logger.info(f'torch.compile({options}) in place: {", ".join(compiled) or "nothing to compile"}')
    return runner


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


def _dataset_paths(dataset: dict) -> list[str]:
    """The folders/files a dataset config needs, resolved against its data_root."""
    if 'dataset' in dataset:  # wrappers such as RepeatDataset / ClassBalancedDataset
        return _dataset_paths(dataset['dataset'])
    if 'datasets' in dataset:  # ConcatDataset
        return [path for child in dataset['datasets'] for path in _dataset_paths(child)]
    root = dataset.get('data_root') or ''
    paths = []
    prefix = dataset.get('data_prefix') or dataset.get('split')  # mmpretrain's ImageNet reads root/<split>
    prefixes = prefix.values() if isinstance(prefix, dict) else [prefix]
    paths += [osp.join(root, p) for p in prefixes if isinstance(p, str) and p]
    ann_file = dataset.get('ann_file')
    if isinstance(ann_file, str) and ann_file:
        paths.append(osp.join(root, ann_file))
    if not paths and root:
        paths.append(root)
    return paths


def check_datasets_exist(cfg: Config, dataloaders: tuple[str, ...]) -> None:
    """Fail in the first second, with the fix, when a configured dataset is not on disk.

    Otherwise the error would surface later as a traceback from a dataloader worker.
    """
    problems = []
    for name in dataloaders:
        loader = cfg.get(name)
        if not loader or 'dataset' not in loader:
            continue
        dataset = loader['dataset']
        for path in _dataset_paths(dataset):
            if not osp.exists(path):
                problems.append((name, path, dataset))
    if not problems:
        return
    lines = ['dataset not found:']
    for name, path, _ in problems:
        lines.append(f'  {name}: looked for {osp.abspath(path)}')
    loaders = sorted({name for name, _, _ in problems})
    overrides = ' '.join(f'{name}.dataset.data_root=/path/to/data' for name in loaders)
    lines.append(
        'Put the data there (mmpretrain ImageNet layout: data/imagenet/{train,val}, meta/{train,val}.txt), '
        f'or point elsewhere with: --cfg-options {overrides}'
    )
    usage_error('\n'.join(lines))
