"""`mmmixer finetune` and `mmmixer fewshot` on bad input: one line naming the problem and the fix, exit code 2,
before any model is built."""

import re

import pytest
import torch

from mmmixer.cli import fewshot, finetune
from tests.helpers import run_main, save_classification_checkpoint
from tests.test_transfer.test_finetune_setup import save_mixer
from tests.test_transfer.test_folders import image_folder


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if 'error' in line]


@pytest.fixture
def checkpoint(tmp_path):
    return save_mixer(tmp_path / 'mixer.pth', head_classes=1000)


@pytest.mark.parametrize(
    ('train', 'test', 'shots', 'message'),
    [
        ({'a': 5, 'b': 2}, {'a': 1, 'b': 1}, ['1', '5'], r'--shots 5 needs 5 images in every class .*: b \(2\)'),
        ({'a': 5}, {'a': 1}, ['1'], "has only the class 'a'"),
        ({'a': 5, 'b': 5}, {'a': 1, 'c': 1}, ['1'], 'lacks b and has c that the training folder lacks'),
    ],
    ids=['too-few-images', 'one-class', 'other-classes'],
)
def test_fewshot_refuses_unusable_folders(tmp_path, checkpoint, train, test, shots, message):
    train_dir, test_dir = image_folder(tmp_path / 'train', train), image_folder(tmp_path / 'test', test)
    code, output = run_main(
        fewshot.main, 'mixer-demo_digits.py', checkpoint, '--train', train_dir, '--test', test_dir, '--shots', *shots
    )
    assert code == 2 and len(error_lines(output)) == 1, output
    assert re.search(message, error_lines(output)[0]), output


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['--shots', '0'], 'all at least 1'),
        (['--l2', '0'], 'must be positive'),
    ],
)
def test_fewshot_refuses_bad_numbers(tmp_path, checkpoint, args, message):
    folder = image_folder(tmp_path / 'f', {'a': 1, 'b': 1})
    code, output = run_main(
        fewshot.main, 'mixer-demo_digits.py', checkpoint, '--train', folder, '--test', folder, *args
    )
    assert code == 2 and message in output, output


def test_finetune_refuses_a_folder_with_one_class(tmp_path, checkpoint):
    code, output = run_main(finetune.main, checkpoint, image_folder(tmp_path / 'one', {'cats': 3}))
    assert code == 2 and len(error_lines(output)) == 1 and 'at least 2 classes' in output, output
    assert not (tmp_path / 'work_dirs').exists()


def test_finetune_refuses_a_val_folder_with_other_classes(tmp_path, checkpoint):
    train, val = image_folder(tmp_path / 't', {'a': 2, 'b': 2}), image_folder(tmp_path / 'v', {'a': 1, 'x': 1})
    code, output = run_main(finetune.main, checkpoint, train, '--val', val, '--work-dir', tmp_path / 'w')
    assert code == 2 and 'the --val folder' in output and 'lacks b and has x' in output, output
    assert not (tmp_path / 'w').exists()


def test_finetune_refuses_a_missing_or_foreign_checkpoint(tmp_path):
    folder = image_folder(tmp_path / 'f', {'a': 1, 'b': 1})
    code, output = run_main(finetune.main, tmp_path / 'missing.pth', folder)
    assert code == 2 and 'does not exist' in output, output
    torch.save({'state_dict': {'backbone.layer1.weight': torch.zeros(2)}}, tmp_path / 'resnet.pth')
    code, output = run_main(finetune.main, tmp_path / 'resnet.pth', folder)
    assert code == 2 and len(error_lines(output)) == 1 and 'holds no Mixer backbone' in output, output


def test_fewshot_refuses_a_checkpoint_of_another_mixer_size(tmp_path):
    other_size = save_mixer(tmp_path / 'patch8.pth', img_size=32, patch_size=8)  # 16 tokens: the demo config has 64
    folder = image_folder(tmp_path / 'f', {'a': 2, 'b': 2})
    code, output = run_main(
        fewshot.main, 'mixer-demo_digits.py', other_size, '--train', folder, '--test', folder, '--shots', '1'
    )
    assert code == 2 and len(error_lines(output)) == 1, output
    assert "does not fit the config's backbone: backbone.stem.proj.weight is [" in error_lines(output)[0], output


def test_fewshot_names_a_broken_image_in_one_line(tmp_path):
    checkpoint = tmp_path / 'demo.pth'
    save_classification_checkpoint(checkpoint, img_size=32)  # fits the demo config
    folder = image_folder(tmp_path / 'f', {'a': 2, 'b': 2})
    (folder / 'b' / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'garbage' * 20)
    code, output = run_main(
        fewshot.main, 'mixer-demo_digits.py', checkpoint, '--train', folder, '--test', folder, '--shots', '1'
    )
    assert code == 2 and len(error_lines(output)) == 1, output
    assert 'broken.png' in error_lines(output)[0], output
