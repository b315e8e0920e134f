"""From a config to a finished run, in one pipeline that reads top to bottom:

    read (:mod:`mmmixer.config.read`) -> check (:mod:`mmmixer.config.checks`)
    -> prepare (:mod:`mmmixer.config.prepare`) -> build (:func:`build_runner`) -> run (:func:`run_to_the_end`)

``mmmixer train`` / ``mmmixer test`` (and ``tools/train.py`` / ``tools/test.py``) are argument parsing over
:func:`runner_from_config` and :func:`run_to_the_end`; a Python user calls them the same way. Bad input raises an
:class:`~mmmixer.errors.InputError` (one line; the command lines print it and exit with code 2), before the Runner
writes anything.
"""

from __future__ import annotations

import contextlib
import logging
import os
import os.path as osp
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple, TypeVar

from mmengine.config import Config
from mmengine.hooks import Hook
from torch import nn

from mmmixer.config.checks import check_config
from mmmixer.config.prepare import (
    drop_persistent_workers_without_workers,
    prepare_cpu_distributed,
    use_checked_image_loading,
    use_named_collate,
)
from mmmixer.config.read import load_config
from mmmixer.engine.checkpoint_saving import use_atomic_checkpoints
from mmmixer.errors import InputError
from mmmixer.fileio import write_atomically

Result = TypeVar('Result')
TRAIN_DATALOADERS = ('train_dataloader', 'val_dataloader')
TEST_DATALOADERS = ('test_dataloader',)
WORK_DIR_BEFORE = '_mmmixer_work_dir_before'  # set on the Runner: its work dir before the run (WorkDirBefore)
TRAINING_PROGRESS = '_mmmixer_training_progress'  # set on the Runner: its TrainingProgressHook


def default_work_dir(config: str) -> str:
    """``./work_dirs/<config name>``, as mmpretrain's tools choose it."""
    return osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])


def runner_from_config(
    config: str,
    dataloaders: tuple[str, ...],
    *,
    work_dir: str | None = None,
    launcher: str = 'none',
    compile: bool = False,
    edit: Callable[[Config], None] | None = None,
    cfg_options: dict | None = None,
    data_root: str | None = None,
):
    """Read ``config`` (a path, or the name of one of mmmixer's configs), apply ``edit`` (a command's flags, then
    its ``--cfg-options``), check it, prepare it and build mmengine's Runner for the ``dataloaders`` it will use
    (:data:`TRAIN_DATALOADERS` or :data:`TEST_DATALOADERS`).

    ``cfg_options`` and ``data_root`` (``--data-root``) only word the ``mmmixer check-data`` command that a
    broken-image error suggests; ``edit`` applies them. Raises :class:`~mmmixer.errors.InputError` on bad input,
    before anything is written.
    """
    cfg = load_config(config)
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get('work_dir') or default_work_dir(config)
    if edit is not None:
        edit(cfg)
    drop_persistent_workers_without_workers(cfg)
    check_config(cfg, dataloaders)
    prepare_cpu_distributed(cfg)
    skipped_images_report = use_checked_image_loading(cfg, dataloaders, config, cfg_options, data_root)
    use_named_collate(cfg, dataloaders)  # images of different sizes in one batch: one line naming them
    use_atomic_checkpoints(cfg)  # checkpoints whole or not at all; a full disk ends training with one line
    before = WorkDirBefore.look(cfg)
    with _undone_on_refusal(before):  # an InputError while the Runner is built: what it wrote so far goes too
        runner = build_runner(cfg, compile)
    setattr(runner, WORK_DIR_BEFORE, before)  # what a run refused before training may remove
    progress = TrainingProgressHook()
    runner.register_hook(progress, priority='VERY_LOW')
    setattr(runner, TRAINING_PROGRESS, progress)
    if skipped_images_report is not None:  # skip_broken_images=True: count and log what training skips
        runner.register_hook(skipped_images_report)
    return runner


def build_runner(cfg: Config, compile_flag: bool = False):
    """The Runner the config asks for, as mmpretrain's ``tools/train.py`` builds it: ``Runner.from_cfg``, or the
    config's ``runner_type`` (e.g. mmengine's ``FlexibleRunner`` with its ``strategy``: FSDP, DeepSpeed, ...).

    ``--compile`` / ``cfg.compile`` compiles the backbone, neck and head in place
    (:func:`mmmixer.engine.fast_training.compile_in_place`) rather than mmengine's whole ``train_step``, which
    dynamo cannot trace (the optimizer wrapper, the AMP context, logging). A ``FlexibleRunner`` keeps the model a
    config until its strategy builds it in ``train()`` / ``test()``, so there the compile runs in the
    ``before_run`` hook (:class:`CompileInPlaceHook`). Raises ``ConfigValueError`` for a ``compile`` setting that is
    neither a bool nor a dict.
    """
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from mmmixer.engine.fast_training import compile_options

    options = compile_options(cfg.pop('compile', None))
    if compile_flag and options is None:
        options = {}
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    if options is not None:
        hook = CompileInPlaceHook(options)
        if isinstance(runner.model, nn.Module):  # built already (mmengine's Runner)
            hook.before_run(runner)
        else:  # a FlexibleRunner builds it later
            runner.register_hook(hook, priority='VERY_HIGH')
    return runner


class CompileInPlaceHook(Hook):
    """Compiles the model's backbone, neck and head in place once the model exists (before the run)."""

    def __init__(self, options: dict):
        self.options = options
        self.done = False

    def before_run(self, runner) -> None:
        from mmengine.model import is_model_wrapper

        from mmmixer.engine.fast_training import compile_in_place

        if self.done:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        compiled = compile_in_place(model, self.options)
        runner.logger.info(f'torch.compile({self.options}) in place: {", ".join(compiled) or "nothing to compile"}')
        self.done = True


def run_to_the_end(runner, run: Callable[[], Result]) -> Result:
    """``run()`` (``runner.train`` / ``runner.test``); the dataloader workers are stopped whatever happens, and a run
    that bad input ends before it trained an iteration leaves nothing behind (:func:`nothing_left_by_a_refused_run`)."""
    from mmmixer.engine.dataloader_shutdown import close_dataloader_workers, runner_dataloaders

    with nothing_left_by_a_refused_run(runner):
        try:
            return run()
        finally:
            close_dataloader_workers(runner_dataloaders(runner))


class TrainingProgressHook(Hook):
    """Counts the training iterations this run completed: a run refused before the first one leaves nothing."""

    def __init__(self):
        self.iterations = 0

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self.iterations += 1


def _trained(runner) -> bool:
    """Whether this run trained at least one iteration (a resumed run's earlier iterations do not count)."""
    progress = getattr(runner, TRAINING_PROGRESS, None)
    return progress is not None and progress.iterations > 0


class WorkDirBefore(NamedTuple):
    """A work dir before a run: what a run refused before training puts back."""

    path: str
    entries: frozenset[str] | None  # None: the run creates the work dir
    dumped_config: str  # the Runner writes the config here (a previous run's copy is put back)
    dumped_bytes: bytes | None

    @classmethod
    def look(cls, cfg: Config) -> WorkDirBefore:
        path = osp.abspath(cfg.work_dir)
        dumped = osp.join(path, osp.basename(cfg.filename)) if cfg.filename else ''
        entries = frozenset(os.listdir(path)) if osp.isdir(path) else None
        previous = None
        if entries is not None and osp.isfile(dumped):
            with open(dumped, 'rb') as f:
                previous = f.read()
        return cls(path, entries, dumped, previous)

    def put_back(self) -> None:
        """Remove what was written since (the work dir itself if it is new; else the new log folder and the dumped
        config), and put a previous run's dumped config back."""
        from mmengine.logging import MMLogger

        logger = MMLogger.get_current_instance()
        for handler in list(logger.handlers):  # close the log file before removing it, and log there no more
            if isinstance(handler, logging.FileHandler):
                handler.close()
                logger.removeHandler(handler)
        if self.entries is None:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        for name in set(os.listdir(self.path)) - self.entries if osp.isdir(self.path) else ():
            target = osp.join(self.path, name)
            shutil.rmtree(target, ignore_errors=True) if osp.isdir(target) else os.remove(target)
        if self.dumped_bytes is not None:
            write_atomically(self.dumped_config, lambda tmp: Path(tmp).write_bytes(self.dumped_bytes))


@contextlib.contextmanager
def _undone_on_refusal(before: WorkDirBefore) -> Iterator[None]:
    try:
        yield
    except InputError:
        from mmengine.dist import get_rank

        if get_rank() == 0:
            before.put_back()
        raise


@contextlib.contextmanager
def nothing_left_by_a_refused_run(runner) -> Iterator[None]:
    """When bad input (a refused checkpoint, a config value, a broken image, an input of the wrong size) ends a run
    before it trained a single iteration, remove what the Runner wrote for it: its timestamped log folder and the
    config it dumped (a previous run's copy is put back), or the whole work dir if this run created it. A run that
    trained keeps its logs and checkpoints."""
    try:
        yield
    except InputError:
        before = getattr(runner, WORK_DIR_BEFORE, None)
        if not _trained(runner) and runner.rank == 0 and before is not None:
            before.put_back()
        raise


def set_local_rank(local_rank: int) -> None:
    """``torch.distributed.launch`` passes ``--local-rank``; torchrun sets ``LOCAL_RANK`` (which wins)."""
    os.environ.setdefault('LOCAL_RANK', str(local_rank))
