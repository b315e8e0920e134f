"""A config's way to a run under ``mmmixer train``: the runner the config names, and the same numbers as
mmpretrain's own ``tools/train.py``."""

import runpy
import sys
from pathlib import Path

import pytest
import torch

from mmmixer.checkpoint import load_checkpoint_safely
from mmmixer.cli.train import main as train_main
from tests.helpers import REPO, TINY_DEMO_MODEL, run_main

DEMO_CONFIG = REPO / 'configs/mixer-demo_digits.py'


def demo_options(digits_dir: Path, epochs: int) -> list[str]:
    """The demo config, tiny and short, on the digits; no fused optimizer (mmpretrain's tools do not ask for it)."""
    return [
        *TINY_DEMO_MODEL,
        f'train_cfg.max_epochs={epochs}',
        f'train_cfg.val_interval={epochs}',
        f'default_hooks.checkpoint.interval={epochs}',
        'optim_wrapper.optimizer.fused=False',
        *(f'{loader}.dataset.data_root={digits_dir}' for loader in ('train_dataloader', 'val_dataloader')),
    ]


def final_weights(work_dir: Path, epochs: int) -> dict:
    return load_checkpoint_safely(work_dir / f'epoch_{epochs}.pth', map_location='cpu')['state_dict']


@pytest.mark.slow
def test_a_config_with_flexible_runner_trains_under_it(tmp_path, digits_dir):
    from mmengine.config import DictAction
    from mmengine.runner import FlexibleRunner

    from mmmixer.engine.runner import TRAIN_DATALOADERS, run_to_the_end, runner_from_config

    options = [*demo_options(digits_dir, 1), 'runner_type=FlexibleRunner', 'strategy.type=SingleDeviceStrategy']
    parsed = {key: DictAction._parse_iterable(value) for key, value in (item.split('=', 1) for item in options)}
    work_dir = tmp_path / 'flexible'
    runner = runner_from_config(
        str(DEMO_CONFIG), TRAIN_DATALOADERS, work_dir=str(work_dir), edit=lambda cfg: cfg.merge_from_dict(parsed)
    )
    assert type(runner) is FlexibleRunner  # the config's runner_type, as mmpretrain's tools/train.py builds it
    run_to_the_end(runner, runner.train)
    assert (work_dir / 'epoch_1.pth').is_file()


@pytest.mark.slow
def test_mmmixer_train_and_mmpretrains_train_give_the_same_weights(tmp_path, digits_dir, monkeypatch):
    import mmpretrain

    epochs = 2
    ours, theirs = tmp_path / 'ours', tmp_path / 'theirs'
    code, output = run_main(
        train_main, DEMO_CONFIG, '--work-dir', ours, '--cfg-options', *demo_options(digits_dir, epochs)
    )
    assert code == 0, output[-3000:]

    tool = Path(mmpretrain.__file__).parent / '.mim' / 'tools' / 'train.py'
    argv = [str(tool), str(DEMO_CONFIG), '--work-dir', str(theirs), '--cfg-options']
    monkeypatch.setattr(sys, 'argv', argv + demo_options(digits_dir, epochs))
    runpy.run_path(str(tool), run_name='__main__')

    ours_weights, theirs_weights = final_weights(ours, epochs), final_weights(theirs, epochs)
    assert ours_weights.keys() == theirs_weights.keys()
    for key, value in ours_weights.items():
        assert torch.equal(value, theirs_weights[key]), key
