"""Pieces shared by the command lines (train and test above all)."""

from __future__ import annotations

import argparse
import contextlib
import os
import os.path as osp
from collections.abc import Callable
from typing import TypeVar

from mmengine.config import Config, DictAction

from mmmixer.cli.usage import usage_error  # noqa: F401 (the command lines import it from here)
from mmmixer.packaged_configs import find_config
from mmmixer.runtime.runner import drop_persistent_workers_without_workers, run_then_close_workers

Result = TypeVar('Result')


@contextlib.contextmanager
def reported_checkpoint_errors():
    """A checkpoint that is refused, not a checkpoint, damaged or not downloadable: one line, exit 2."""
    from mmmixer.checkpoint import CheckpointError

    try:
        yield
    except CheckpointError as error:
        usage_error(str(error))


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
    from mmmixer.cli.config_checks import read_config

    return read_config(path)  # a config that does not parse: file:line and the parser's message, exit 2


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
    from mmmixer.cli.config_checks import NEW_WORK_DIR, check_bad_input, reported_bad_input
    from mmmixer.runtime.runner import build_runner

    skipped_images_report = check_bad_input(cfg, args, dataloaders)  # before the Runner writes anything
    work_dir_existed = osp.exists(cfg.work_dir)
    with reported_bad_input():  # e.g. a compile setting that is neither a bool nor a dict
        runner = build_runner(cfg, args.compile)
    setattr(runner, NEW_WORK_DIR, not work_dir_existed)  # what a run refused before training may remove
    if skipped_images_report is not None:  # skip_broken_images=True: count and log what training skips
        runner.register_hook(skipped_images_report())
    return runner


def run_to_the_end(runner, run: Callable[[], Result]) -> Result:
    """``run()`` (``runner.train`` / ``runner.test``): a refused or broken checkpoint is one line (exit 2),
    and the dataloader workers are stopped whatever happens."""
    from mmmixer.cli.config_checks import nothing_left_by_a_refused_run, reported_bad_input

    # Also one line: a broken image, an input of the wrong size; a run refused before training leaves no files.
    with reported_checkpoint_errors(), reported_bad_input(), nothing_left_by_a_refused_run(runner):
        return run_then_close_workers(runner, run)


def prepare_runtime(cfg: Config) -> None:
    """The heavy imports, done after the cheap checks so that bad input fails within a second:
    mmmixer (models, safe checkpoint loading) and the config's ``custom_imports``."""
    import mmmixer  # noqa: F401
    from mmmixer.compiled_ops import MissingCompiledOpsError, check_compiled_ops

    try:
        check_compiled_ops(cfg)
    except MissingCompiledOpsError as error:  # a detection/segmentation config without mmcv's ops or mmseg
        usage_error(str(error))

    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings

        import_modules_from_strings(**cfg.custom_imports)
    if cfg.get('launcher') == 'pytorch':
        from mmmixer.runtime.runner import prepare_cpu_distributed

        prepare_cpu_distributed(cfg)


def _dataset_paths(dataset: dict) -> list[str]:
    """The folders/files a dataset config needs (those of every data set inside its wrappers), against data_root."""
    from mmmixer.cli.config_checks import leaf_datasets

    return [path for leaf in leaf_datasets(dataset) for path in _leaf_dataset_paths(leaf)]


def _leaf_dataset_paths(dataset: dict) -> list[str]:
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
