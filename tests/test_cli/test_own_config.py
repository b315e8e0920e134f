"""The first hour with one's own config, through the front door in this process: versions, aligned help, config
mistakes as one line with nothing written, a refused run that leaves nothing behind, defaults that fit the model."""

import importlib.metadata
import re

import numpy as np
import pytest
import torch
from PIL import Image

from mmmixer.cli.main import COMMANDS, main
from mmmixer.patches import describe_patches
from tests.helpers import REPO, TINY_DEMO_MODEL, run_main

DEMO = str(REPO / 'configs' / 'mixer-demo_digits.py')


@pytest.mark.parametrize('flag', ['-V', '--version', 'env'])
def test_version_names_the_stack_and_the_patches(flag):
    code, output = run_main(main, flag)
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].startswith('mmmixer ')
    for package in ('torch', 'mmcv', 'mmengine', 'mmpretrain'):
        assert any(line.split()[:2] == [package, importlib.metadata.version(package)] for line in lines), output
    assert all(f'  {patch}' in lines for patch in describe_patches())


def test_help_aligns_every_summary_after_the_longest_name():
    code, output = run_main(main, '--help')
    listing = output.split('commands:\n')[1].split('\n\n')[0].splitlines()
    assert code == 0 and len(listing) == len(COMMANDS)
    columns = {line.index(COMMANDS[line.split()[0]].summary) for line in listing}
    assert columns == {2 + max(map(len, COMMANDS)) + 2}


def test_get_flops_measures_at_the_models_own_size():
    from mmmixer.cli.get_flops import main as get_flops

    code, output = run_main(get_flops, DEMO)
    assert code == 0 and 'Input shape: (3, 32, 32)' in output, output


@pytest.mark.parametrize(
    ('options', 'line'),
    [
        (['model.backbone.archh=b'], "error: model.backbone: unknown argument 'archh'; did you mean 'arch'?"),
        (['model.head.num_clases=5'], "error: model.head: unknown argument 'num_clases'; did you mean 'num_classes'?"),
        (['model.backbone.arch'], 'error: --cfg-options model.backbone.arch: not KEY=VALUE; write each override as'),
    ],
)
def test_a_config_mistake_through_the_front_door_is_one_line_and_writes_nothing(tmp_path, tiny_data, options, line):
    work_dir = tmp_path / 'w'
    code, output = run_main(
        main, 'train', DEMO, '--work-dir', work_dir, '--data-root', tiny_data, '--cfg-options', *options
    )
    assert code == 2 and len(output.strip().splitlines()) == 1 and output.startswith(line), output
    assert not work_dir.exists()


@pytest.fixture
def tiny_data(tmp_path):
    root = tmp_path / 'data'
    for split in ('train', 'val'):
        for label in range(2):
            (root / split / str(label)).mkdir(parents=True)
            Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / split / str(label) / 'a.png')
    return root


@pytest.fixture
def data_with_a_broken_training_image(tiny_data):
    (tiny_data / 'train' / '1' / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'garbage' * 10)
    return tiny_data


@pytest.mark.parametrize('work_dir_existed', [False, True])
def test_a_refused_run_leaves_the_work_dir_as_it_was(tmp_path, data_with_a_broken_training_image, work_dir_existed):
    work_dir = tmp_path / 'work'
    if work_dir_existed:  # a previous run's files, and its dumped config, which this run would overwrite
        work_dir.mkdir()
        (work_dir / 'keep.txt').write_text('a previous run')
        (work_dir / 'mixer-demo_digits.py').write_text('# the previous run dumped this\n')
    before = {path: path.read_bytes() for path in work_dir.rglob('*')} if work_dir_existed else None
    options = [*TINY_DEMO_MODEL, 'train_dataloader.batch_size=5', 'train_cfg.max_epochs=1']
    code, output = run_main(
        main, 'train', DEMO, '--work-dir', work_dir, '--data-root', data_with_a_broken_training_image,
        '--cfg-options', *options,
    )  # fmt: skip
    assert code == 2 and re.search(r'error: broken image in train_dataloader .*broken\.png', output), output
    assert f'--split train --data-root {data_with_a_broken_training_image}' in output  # the check-data to run
    if work_dir_existed:
        assert {path: path.read_bytes() for path in work_dir.rglob('*')} == before
    else:
        assert not work_dir.exists()


def test_a_run_that_trained_before_bad_input_keeps_its_logs(tmp_path, data_with_a_broken_training_image):
    # Unshuffled, batch 1: 0/a.png and 1/a.png train two iterations, then 1/broken.png ends the run.
    work_dir = tmp_path / 'work'
    options = [
        *TINY_DEMO_MODEL, 'train_dataloader.batch_size=1', 'train_dataloader.sampler.shuffle=False',
        'train_cfg.max_epochs=1',
    ]  # fmt: skip
    code, output = run_main(
        main, 'train', DEMO, '--work-dir', work_dir, '--data-root', data_with_a_broken_training_image,
        '--cfg-options', *options,
    )  # fmt: skip
    assert code == 2 and 'broken.png' in output, output
    # Had the run been refused before its first iteration, its log folder would be gone (the test above).
    assert len(list(work_dir.glob('*/*.log'))) == 1


def test_a_checkpoint_that_does_not_fit_names_the_keys_shortly():
    from mmmixer.cli.export import state_dict_mismatch
    from mmmixer.models import MlpMixer

    model = MlpMixer(arch=dict(embed_dims=8, num_layers=2, tokens_mlp_dims=4, channels_mlp_dims=16), img_size=16)
    weights = {f'module.{key}': value for key, value in model.state_dict().items()}  # DDP's prefix is dropped
    assert state_dict_mismatch(model, weights) == ''
    del weights['module.stem.proj.weight']
    weights['module.stem.proj.bias'] = torch.zeros(3)
    weights.update({f'extra.{i}': torch.zeros(1) for i in range(5)})
    assert state_dict_mismatch(model, weights) == (
        '1 missing weights (stem.proj.weight); 5 unexpected (extra.0, extra.1, extra.2 and 2 more); '
        '1 of another shape (stem.proj.bias (3,) vs (8,) in the model)'
    )
