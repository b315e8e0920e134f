"""How a run saves: every checkpoint whole or not at all, an outdated one removed only once its successor is whole,
the best and published checkpoints too, and an error that is not the disk's keeps its traceback. (Faults at any
byte of any file: tests/test_harness/test_faults.py.)"""

from __future__ import annotations

import builtins
import errno

import pytest
from mmengine.config import Config

from mmmixer.checkpoint import load_checkpoint_safely
from mmmixer.config.options import merge_options, parse_options
from mmmixer.engine import checkpoint_saving
from mmmixer.engine.checkpoint_saving import AtomicCheckpointHook, use_atomic_checkpoints
from mmmixer.engine.runner import TRAIN_DATALOADERS, run_to_the_end, runner_from_config
from mmmixer.errors import CheckpointSaveError
from tests.helpers import REPO, tiny_image_folder, tiny_training_options

DEMO = REPO / 'configs' / 'mixer-demo_digits.py'


def fail_opening(monkeypatch, error_number: int, when=lambda path: True) -> list[str]:
    """Checkpoint saving's files whose name passes ``when`` cannot be opened; returns the paths tried."""
    tried = []

    def open_(path, mode='r', *args, **kwargs):
        tried.append(path)
        if when(path):
            raise OSError(error_number, 'injected')
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(checkpoint_saving, 'open', open_, raising=False)
    return tried


def trained_runner(tmp_path, *options: str, epochs: int = 2):
    """The demo config as a tiny run with validation every epoch, trained to the end; returns the runner."""
    data = tiny_image_folder(tmp_path / 'data')
    validation = [
        f'val_dataloader.dataset.data_root={data}',
        'val_dataloader.dataset.data_prefix=train',
        'val_dataloader.batch_size=8',
        'train_cfg.val_interval=1',
    ]
    chosen = parse_options([*tiny_training_options(data, epochs), *validation, *options])
    runner = runner_from_config(
        str(DEMO), TRAIN_DATALOADERS, work_dir=str(tmp_path / 'work'), edit=lambda cfg: merge_options(cfg, chosen)
    )
    run_to_the_end(runner, runner.train)
    return runner


def checkpoint_hook(runner) -> AtomicCheckpointHook:
    (hook,) = [hook for hook in runner.hooks if isinstance(hook, AtomicCheckpointHook)]
    return hook


def test_the_config_checkpoint_hook_is_swapped_for_the_atomic_one_with_its_settings():
    cfg = Config(dict(default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=1))))
    use_atomic_checkpoints(cfg)
    assert cfg.default_hooks.checkpoint == dict(type='mmmixer.AtomicCheckpointHook', interval=5, max_keep_ckpts=1)
    own = Config(dict(default_hooks=dict(checkpoint=dict(type='MyCheckpointHook'))))
    use_atomic_checkpoints(own)
    assert own.default_hooks.checkpoint.type == 'MyCheckpointHook'  # a config's own hook is its choice


def test_a_new_best_checkpoint_replaces_the_old_one_only_once_it_is_whole(tmp_path, monkeypatch):
    runner = trained_runner(tmp_path, 'default_hooks.checkpoint.save_best=accuracy/top1')
    hook = checkpoint_hook(runner)
    best = lambda: sorted(path.name for path in (tmp_path / 'work').glob('best_*.pth'))  # noqa: E731
    assert len(best()) == 1 and load_checkpoint_safely(hook.best_ckpt_path)['state_dict']

    runner.train_loop._epoch = 7  # a later validation, with a better score
    hook._save_best_checkpoint(runner, {'accuracy/top1': 1000.0})
    assert best() == ['best_accuracy_top1_epoch_7.pth']
    assert load_checkpoint_safely(hook.best_ckpt_path)['state_dict']

    runner.train_loop._epoch = 9  # a better score still, but the disk is full
    tried = fail_opening(monkeypatch, errno.ENOSPC)
    with pytest.raises(CheckpointSaveError, match=r'cannot write .*best_accuracy_top1_epoch_9\.pth \(injected'):
        hook._save_best_checkpoint(runner, {'accuracy/top1': 2000.0})
    assert tried and best() == ['best_accuracy_top1_epoch_7.pth'], 'the previous best went before its successor'
    assert load_checkpoint_safely(tmp_path / 'work' / 'best_accuracy_top1_epoch_7.pth')['state_dict']


def test_published_keys_publish_a_whole_copy_next_to_the_last_checkpoint(tmp_path):
    trained_runner(tmp_path, "default_hooks.checkpoint.published_keys=['meta','state_dict']", epochs=1)
    (published,) = (tmp_path / 'work').glob('epoch_1-*.pth')
    assert set(load_checkpoint_safely(published)) == {'meta', 'state_dict'}
    assert set(load_checkpoint_safely(tmp_path / 'work' / 'epoch_1.pth')) >= {'optimizer', 'message_hub'}
    assert not list((tmp_path / 'work').glob('.*'))  # no temporary file


def test_an_error_that_is_not_the_disks_keeps_its_traceback(tmp_path, monkeypatch):
    fail_opening(monkeypatch, errno.EBADF, when=lambda path: 'epoch_2' in path)
    with pytest.raises(OSError, match='injected') as raised:
        trained_runner(tmp_path)
    assert not isinstance(raised.value, CheckpointSaveError)
    assert load_checkpoint_safely(tmp_path / 'work' / 'epoch_1.pth')['meta']['epoch'] == 1
