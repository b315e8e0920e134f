"""Checkpoints written whole or not at all, and a full disk that ends training with one line.

mmengine's ``CheckpointHook`` writes each checkpoint, and its ``last_checkpoint`` note, straight under the final name,
and removes the oldest checkpoint (``max_keep_ckpts``) or the previous best before it writes the new one: a full disk
or a kill in between leaves a partial ``epoch_N.pth`` and, with ``max_keep_ckpts=1``, no intact checkpoint at all.
:class:`AtomicCheckpointHook` (which :func:`use_atomic_checkpoints` puts in place of the config's ``CheckpointHook``)
keeps its settings and changes only how files are written:

* every checkpoint (regular, best, published) goes through :class:`AtomicLocalBackend`, mmengine's local file
  backend with ``put`` written to a temporary name in the same folder, flushed to disk and renamed
  (:func:`mmmixer.fileio.write_atomically`); ``last_checkpoint`` is written the same way, after its checkpoint;
* a checkpoint that ``max_keep_ckpts`` or a better score retires is removed only once its successor is whole;
* a full disk or an I/O error while saving raises :class:`~mmmixer.errors.CheckpointSaveError`: one line naming the
  file, the bytes it needed, the latest intact checkpoint and the ``--resume`` command that continues from it. The
  run trained, so its logs and checkpoints stay (:func:`mmmixer.engine.runner.nothing_left_by_a_refused_run`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import os.path as osp
import shlex
from collections.abc import Iterator
from pathlib import Path

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook

from mmmixer.errors import CheckpointSaveError
from mmmixer.fileio import write_atomically
from mmmixer.registry import HOOKS

ATOMIC_BACKEND = 'mmmixer_atomic_local'
HOOK_TYPE = 'mmmixer.AtomicCheckpointHook'
# Errors of the disk, not of the program, and what the user does about them: they end training with one line.
# Anything else keeps its traceback.
DISK_ERRNOS = {
    errno.ENOSPC: 'free space',
    errno.EDQUOT: 'free space (or raise the quota)',
    errno.EIO: 'check the disk',
    errno.EFBIG: 'use a file system that takes files this large',
    errno.EROFS: 'make the file system writable',
}


class UnwrittenFileError(OSError):
    """The ``OSError`` of a file that could not be written, with the ``size`` in bytes it was to have."""

    def __init__(self, error: OSError, filename: str, size: int):
        super().__init__(error.errno, error.strerror or str(error), filename)
        self.size = size


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend, with every ``put`` written to a temporary file, synced and renamed."""

    def put(self, obj: bytes, filepath: str | Path) -> None:
        os.makedirs(osp.dirname(osp.abspath(filepath)), exist_ok=True)

        def write(tmp: str) -> None:
            with open(tmp, 'wb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())  # on disk before the rename makes it the checkpoint, also across a power cut

        try:
            write_atomically(filepath, write)
        except OSError as error:
            raise UnwrittenFileError(error, os.fspath(filepath), len(obj)) from error

    def put_text(self, obj: str, filepath: str | Path, encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


class RemovalsHeld:
    """A file backend whose ``remove`` and ``rmtree`` only note the path (in ``held``), for the caller to remove
    once what replaces it is written."""

    def __init__(self, backend):
        self.backend = backend
        self.held: list[str] = []

    def remove(self, path: str) -> None:
        self.held.append(path)

    rmtree = remove

    def __getattr__(self, name: str):  # isfile, isdir, join_path ... as the backend answers them
        return getattr(self.backend, name)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments) whose files appear whole or not at all, whose retired
    checkpoints leave only once their successor is whole, and whose failed save ends training with one line."""

    command: list[str] | None = None  # the command line that started the run (set_command), to say how to resume

    def before_train(self, runner) -> None:
        local = '://' not in str(self.out_dir or runner.work_dir)
        if local and self.backend_args is None and self.file_client_args is None:
            # Named in mmengine's table of file backends when a run first needs it, not when mmmixer is imported.
            register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)
            self.backend_args = {'backend': ATOMIC_BACKEND}
        super().before_train(runner)
        # The newest whole checkpoint: the one a resumed run started from, until this run saves one.
        resumed_from = runner.message_hub.get_info('last_ckpt')
        self.intact_checkpoint = resumed_from if resumed_from and osp.isfile(resumed_from) else None

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Save the checkpoint of ``step``, then note it in ``last_checkpoint``, then retire the oldest one."""
        retired = self._keep_step(runner, step)
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        with self._save_or_end_training(runner, self.last_ckpt):
            runner.save_checkpoint(
                self.out_dir,
                filename,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args,
            )
            self.intact_checkpoint = self.last_ckpt
            if is_main_process():
                note = osp.join(runner.work_dir, 'last_checkpoint')
                AtomicLocalBackend().put_text(self.last_ckpt, note)
        if retired is not None and is_main_process():
            self._remove(retired)

    def _keep_step(self, runner, step) -> str | None:
        """``max_keep_ckpts``' bookkeeping for a new checkpoint at ``step`` (kept in the message hub, so that a
        resumed run goes on counting); returns the checkpoint it retires, if any."""
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            return None  # nothing to count, or the same step saved again after a new best score
        retired = None
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            retired = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(self.keep_ckpt_ids.popleft()))
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        return retired

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's best-checkpoint logic, with the previous best removed only once the new one is whole."""
        backend, self.file_backend = self.file_backend, RemovalsHeld(self.file_backend)
        try:
            with self._save_or_end_training(runner, 'the best checkpoint'):
                super()._save_best_checkpoint(runner, metrics)
            held = self.file_backend.held
        finally:
            self.file_backend = backend
        best = [getattr(self, 'best_ckpt_path', None), *getattr(self, 'best_ckpt_path_dict', {}).values()]
        for path in held:
            if path not in map(str, best):  # a best checkpoint saved again under the same name stays
                self._remove(path)

    def _publish_model(self, runner, ckpt_path: str) -> None:
        """``published_keys``: ``name-<sha8>.pth`` next to ``ckpt_path``, written whole (:mod:`mmmixer.checkpoint`)."""
        from mmmixer.checkpoint import publish_checkpoint

        if not is_main_process():
            return
        with self._save_or_end_training(runner, f'the published copy of {ckpt_path}'):
            final = publish_checkpoint(ckpt_path, ckpt_path, keys=self.published_keys, force=True)
        runner.logger.info(f'The checkpoint ({ckpt_path}) is published to {final}.')

    def _remove(self, path: str) -> None:
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # checkpoints saved by DeepSpeed are folders
            self.file_backend.rmtree(path)

    @contextlib.contextmanager
    def _save_or_end_training(self, runner, path: str) -> Iterator[None]:
        """A disk error while saving ``path`` becomes :class:`CheckpointSaveError`, worded by :func:`unsaved`."""
        try:
            yield
        except OSError as error:
            if error.errno not in DISK_ERRNOS:  # not the disk's: a bug to see with its traceback
                raise
            intact = self.intact_checkpoint
            resume = resume_command(self.command, intact, runner) if intact else None
            raise CheckpointSaveError(unsaved(error, path, intact, resume)) from error


def set_command(runner, command: list[str]) -> None:
    """Tell the run's :class:`AtomicCheckpointHook` the command line that started it (``['mmmixer', 'train',
    ...]``): a failed save then says to run it again with ``--resume``."""
    for hook in runner.hooks:
        if isinstance(hook, AtomicCheckpointHook):
            hook.command = list(command)


def resume_command(command: list[str] | None, checkpoint: str, runner) -> str:
    """``command`` (without its own ``--resume``) resuming from ``checkpoint``; without a command, the config's
    ``mmmixer train`` line (its other options are the user's to add)."""
    if command is None:
        config = shown(runner.cfg.filename) if runner.cfg.filename else 'CONFIG'
        command = ['mmmixer', 'train', config, '--work-dir', shown(runner.work_dir)]
    kept, tokens = [], iter(command)
    for token in tokens:
        if token == '--resume':
            value = next(tokens, None)  # its value (a checkpoint), if it has one
            if value is not None and value.startswith('-'):
                kept.append(value)
        elif not token.startswith('--resume='):
            kept.append(token)
    return shlex.join([*kept, '--resume', shown(checkpoint)])


def unsaved(error: OSError, path: str, intact: str | None, resume: str | None) -> str:
    """The one line for a checkpoint that the disk refused: what, why, how much, and how to continue."""
    size = getattr(error, 'size', None)
    needed = f', {readable_size(size)} needed' if size is not None else ''
    what = f'cannot write {shown(error.filename or path)} ({error.strerror}{needed}); nothing was left under its name'
    fix = DISK_ERRNOS[error.errno]
    if intact is None:
        return f'{what}, and this run has no intact checkpoint yet: {fix}, then train again'
    return f'{what}; the latest intact checkpoint is {shown(intact)}: {fix}, then continue with `{resume}`'


def readable_size(size: int) -> str:
    """``1.9 MB``, ``98.3 kB``."""
    return f'{size / 1e6:.1f} MB' if size >= 100_000 else f'{size / 1e3:.1f} kB'


def shown(path: str) -> str:
    """``path`` relative to the working directory when it lies inside it (as the user typed it, most often)."""
    relative = osp.relpath(path)
    return path if relative.startswith('..') else relative


def use_atomic_checkpoints(cfg) -> None:
    """Have the config's ``default_hooks.checkpoint`` (mmengine's ``CheckpointHook``) save atomically: the same
    settings, :class:`AtomicCheckpointHook`'s writing. A hook of another type is the config's own choice."""
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if hook is not None and hook.get('type') in ('CheckpointHook', CheckpointHook):
        hook['type'] = HOOK_TYPE
