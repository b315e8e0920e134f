"""What a command writes to a path named on its command line: never over an existing file without ``--force``,
refused in one line before any work, and written whole."""

from __future__ import annotations

import json

import pytest
import torch

from mmmixer.cli.main import main
from mmmixer.errors import OutputExistsError, OutputPathError
from mmmixer.fileio import check_new_output, write_folder_once
from tests.helpers import REPO, save_classification_checkpoint

DEMO = REPO / 'configs' / 'mixer-demo_digits.py'


def front_door(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main([str(arg) for arg in args])
    except SystemExit as exit_:
        code = exit_.code
    stdout, stderr = capsys.readouterr()
    return code, stdout, stderr


@pytest.fixture
def demo_checkpoint(tmp_path):
    path = tmp_path / 'demo.pth'
    save_classification_checkpoint(path, 32)
    return path


@pytest.fixture
def image(tmp_path_factory):
    from PIL import Image

    path = tmp_path_factory.mktemp('images') / 'digit.png'
    Image.new('L', (32, 32), 128).save(path)
    return path


def commands(tmp_path, checkpoint, existing, image):
    """Each command with the output argument at ``existing``; all of them would take seconds or more to get there."""
    return {
        'export': ['export', DEMO, checkpoint, existing],
        'infer --out': ['infer', image, '--model', DEMO, '--pretrained', checkpoint, '--out', existing],
        'benchmark --json': ['benchmark', '--smoke', '--json', existing],
        'test --out': ['test', DEMO, checkpoint, '--work-dir', tmp_path / 'work', '--out', existing],
        'vis-token-mixing --out': ['vis-token-mixing', checkpoint, '--out', existing],
        'fewshot --out': [
            'fewshot',
            DEMO,
            checkpoint,
            '--train',
            image.parent,
            '--test',
            image.parent,
            '--out',
            existing,
        ],
    }


@pytest.mark.parametrize(
    'command', ['export', 'infer --out', 'benchmark --json', 'test --out', 'vis-token-mixing --out', 'fewshot --out']
)
def test_an_existing_output_is_refused_in_one_line_and_left_as_it_was(
    capsys, tmp_path, demo_checkpoint, image, command
):
    suffix = '.onnx' if command == 'export' else '.json' if 'json' in command or 'out' in command else '.png'
    existing = tmp_path / f'mine{suffix}'
    existing.write_bytes(b"the user's own file")
    before = sorted(path.name for path in tmp_path.iterdir())
    code, _, stderr = front_door(capsys, *commands(tmp_path, demo_checkpoint, existing, image)[command])
    assert code == 2 and stderr.count('\n') == 1, stderr
    assert f'{existing} exists; pass --force to overwrite it' in stderr
    assert existing.read_bytes() == b"the user's own file"
    assert sorted(path.name for path in tmp_path.iterdir()) == before  # no work dir, no temporary file


def test_force_overwrites_the_named_output(capsys, tmp_path, demo_checkpoint, image):
    out = tmp_path / 'predictions.json'
    out.write_text('old')
    args = ['infer', image, '--model', DEMO, '--pretrained', demo_checkpoint, '--out', out]
    code, _, stderr = front_door(capsys, *args, '--force')
    assert code == 0, stderr
    assert json.loads(out.read_text())['results'][0]['image'] == str(image)


def test_drawings_are_not_written_over_files_in_the_show_dir(capsys, tmp_path, demo_checkpoint, image):
    show_dir = tmp_path / 'drawn'
    show_dir.mkdir()
    (show_dir / 'digit.png').write_bytes(b'mine')
    args = ['infer', image, '--model', DEMO, '--pretrained', demo_checkpoint]
    code, _, stderr = front_door(capsys, *args, '--show-dir', show_dir)
    assert code == 2 and f'--show-dir {show_dir / "digit.png"} exists; pass --force' in stderr, stderr
    assert (show_dir / 'digit.png').read_bytes() == b'mine'


def test_publish_never_writes_over_a_file_and_may_publish_next_to_its_source(capsys, tmp_path, demo_checkpoint):
    code, stdout, stderr = front_door(capsys, 'publish', demo_checkpoint, tmp_path / 'model.pth')
    assert code == 0, stderr
    (published,) = tmp_path.glob('model-*.pth')
    published.write_bytes(b'changed by the user')
    code, _, stderr = front_door(capsys, 'publish', demo_checkpoint, tmp_path / 'model.pth')
    assert code == 2 and f'{published} exists; pass --force' in stderr, stderr
    assert published.read_bytes() == b'changed by the user'
    assert front_door(capsys, 'publish', demo_checkpoint, tmp_path / 'model.pth', '--force')[0] == 0
    assert torch.load(published, weights_only=True).keys() == {'meta', 'state_dict'}
    # Published under its source's own name: the source stays, the hashed copy appears beside it.
    source = demo_checkpoint.read_bytes()
    code, stdout, _ = front_door(capsys, 'publish', demo_checkpoint, demo_checkpoint)
    assert code == 0 and demo_checkpoint.read_bytes() == source
    assert len(list(tmp_path.glob('demo-*.pth'))) == 1


def test_a_dataset_made_with_other_settings_is_replaced_only_with_force(capsys, tmp_path):
    out = tmp_path / 'set'
    info = write_folder_once(str(out), {'seed': 0}, 'made.json', 'test set', lambda folder: {'n': 1})
    with pytest.raises(OutputExistsError, match='made with other settings; pass --force to replace it'):
        write_folder_once(str(out), {'seed': 1}, 'made.json', 'test set', lambda folder: {'n': 2})
    assert json.loads((out / 'made.json').read_text()) == info

    def write_then_fail(folder):
        raise OSError(28, 'No space left on device')

    with pytest.raises(OSError, match='No space left'):  # the old set stays until the new one is whole
        write_folder_once(str(out), {'seed': 1}, 'made.json', 'test set', write_then_fail, force=True)
    assert json.loads((out / 'made.json').read_text()) == info
    assert write_folder_once(str(out), {'seed': 1}, 'made.json', 'test set', lambda f: {'n': 2}, force=True)['n'] == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ['set']
    # A folder this tool did not write is never replaced, --force or not.
    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'photo.jpg').write_bytes(b'x')
    code, _, stderr = front_door(capsys, 'prepare-digits', tmp_path / 'mine', '--force')
    assert code == 2 and 'is not a digits split written by this tool' in stderr, stderr
    assert (tmp_path / 'mine' / 'photo.jpg').read_bytes() == b'x'


@pytest.mark.parametrize(
    ('name', 'error', 'message'),
    [
        ('folder', OutputPathError, 'is a folder; name a file'),
        ('missing/out.json', OutputPathError, 'does not exist; create it first'),
        ('file', OutputExistsError, 'exists; pass --force to overwrite it'),
    ],
)
def test_check_new_output_names_the_problem_and_the_fix(tmp_path, name, error, message):
    (tmp_path / 'folder').mkdir()
    (tmp_path / 'file').write_text('x')
    with pytest.raises(error, match=message):
        check_new_output(tmp_path / name, force=False, flag='--out')
    if name == 'file':
        check_new_output(tmp_path / name, force=True)  # --force: no error
