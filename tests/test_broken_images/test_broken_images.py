"""Broken images in a data set: one line naming the file by default, skipped and counted in training with
``skip_broken_images=True``, never skipped in evaluation; ``mmmixer check-data`` lists them all."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmmixer.broken_images import LoadImageChecked, read_image, record_skipped
from mmmixer.broken_images.loader import RECORD_ENV
from mmmixer.errors import BrokenImageError
from tests.helpers import REPO, TINY_DEMO_MODEL

DEMO = REPO / 'configs/mixer-demo_digits.py'
GARBAGE = b'\x00\x01not an image at all\xff' * 10


def truncated_png(source: Path) -> bytes:
    data = source.read_bytes()
    return data[: len(data) // 2]


@pytest.fixture(scope='module')
def small_digits(tmp_path_factory, digits_dir) -> Path:
    """10 training and 4 held-out scans per class from the digits set, and two broken training images."""
    root = tmp_path_factory.mktemp('broken') / 'digits'
    for split, count in (('train', 10), ('val', 4)):
        for label in range(10):
            folder = root / split / str(label)
            folder.mkdir(parents=True)
            for image in sorted((digits_dir / split / str(label)).glob('*.png'))[:count]:
                shutil.copy(image, folder / image.name)
    (root / 'train' / '3' / 'zz_garbage.png').write_bytes(GARBAGE)
    (root / 'train' / '7' / 'zz_truncated.png').write_bytes(truncated_png(next((root / 'train' / '7').glob('*.png'))))
    return root


BROKEN = ('train/3/zz_garbage.png', 'train/7/zz_truncated.png')


def data_options(root: Path, workers: int = 2) -> list[str]:
    return [
        *(f'{name}.dataset.data_root={root}' for name in ('train_dataloader', 'val_dataloader', 'test_dataloader')),
        f'train_dataloader.num_workers={workers}',  # the error and the count cross worker processes
        'train_dataloader.batch_size=16',
        'train_cfg.max_epochs=2',
        'train_cfg.val_interval=2',
        'default_hooks.logger.interval=1',
        *TINY_DEMO_MODEL,
    ]


def run(*args) -> subprocess.CompletedProcess:
    command = [sys.executable, '-m', 'mmmixer', *map(str, args)]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


# ----------------------------------------------------------------------------- through the command lines
@pytest.mark.slow
def test_training_stops_on_a_broken_image_with_one_line(small_digits, tmp_path):
    # --no-pin-memory: torch warns on stderr that it cannot pin memory without an accelerator.
    result = run(
        'train', DEMO, '--work-dir', tmp_path / 'w', '--no-pin-memory', '--cfg-options', *data_options(small_digits)
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-3000:]
    assert len(lines) == 1 and 'Traceback' not in result.stdout + result.stderr, result.stderr
    line = lines[0]
    assert line.startswith(f'error: broken image in train_dataloader ({small_digits}/train): ')
    assert any(str(small_digits / name) in line for name in BROKEN), line
    assert f'mmmixer check-data {DEMO} --split train --cfg-options' in line and 'skip_broken_images=True' in line


@pytest.mark.slow
def test_training_skips_and_counts_broken_images_with_the_switch(small_digits, tmp_path):
    options = [*data_options(small_digits), 'skip_broken_images=True']
    result = run('train', DEMO, '--work-dir', tmp_path / 'w', '--cfg-options', *options)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert (tmp_path / 'w' / 'epoch_2.pth').is_file()
    for name in BROKEN:  # each logged once, however often the samplers met it
        assert output.count(f'skipping broken image {small_digits / name} ') == 1, output[-4000:]
    for epoch in (1, 2):
        assert re.search(rf'Epoch {epoch}: skipped 2 broken images so far in train_dataloader', output), output[-4000:]


@pytest.mark.slow
def test_evaluation_never_skips_a_broken_image(small_digits, tmp_path):
    root = tmp_path / 'digits'
    shutil.copytree(small_digits, root)
    for name in BROKEN:
        (root / name).unlink()
    (root / 'val' / '5' / 'zz_empty.png').write_bytes(b'')
    options = [*data_options(root, workers=0), 'skip_broken_images=True', 'train_cfg.max_epochs=1']
    result = run(
        'train',
        DEMO,
        '--work-dir',
        tmp_path / 'w',
        '--no-pin-memory',
        '--cfg-options',
        *options,
        'train_cfg.val_interval=1',
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert lines[0].startswith(
        f'error: broken image in val_dataloader ({root}/val): {root}/val/5/zz_empty.png is empty'
    )


@pytest.mark.slow
def test_check_data_lists_every_broken_image(small_digits):
    result = run('check-data', DEMO, '--cfg-options', f'train_dataloader.dataset.data_root={small_digits}')
    assert result.returncode == 1, result.stderr
    listed = [line.split(':')[0] for line in result.stdout.splitlines() if line.startswith(str(small_digits))]
    assert sorted(listed) == [str(small_digits / name) for name in BROKEN]
    assert '2 of 102 images in train_dataloader do not decode' in result.stdout
    assert '102/102' in result.stderr  # the progress bar reached the end

    result = run(
        'check-data', DEMO, '--split', 'val', '--cfg-options', f'val_dataloader.dataset.data_root={small_digits}'
    )
    assert result.returncode == 0 and 'all 40 images in val_dataloader decode' in result.stdout, result.stderr


# ----------------------------------------------------------------------------- the loader itself
def test_read_image_says_what_is_wrong(tmp_path, digits_dir):
    good = next((digits_dir / 'train' / '0').glob('*.png'))
    (tmp_path / 'empty.png').write_bytes(b'')
    (tmp_path / 'garbage.png').write_bytes(GARBAGE)
    (tmp_path / 'truncated.png').write_bytes(truncated_png(good))
    image, problem = read_image(str(good))
    assert problem is None and image.shape == (32, 32, 3)
    assert read_image(str(tmp_path / 'missing.png'))[1] == 'does not exist'
    assert read_image(str(tmp_path))[1] == 'is a directory, not an image'
    assert read_image(str(tmp_path / 'empty.png'))[1] == 'is empty (0 bytes)'
    assert read_image(str(tmp_path / 'garbage.png'))[1].startswith('is not an image that cv2 can decode (220 bytes')
    assert read_image(str(tmp_path / 'truncated.png'))[1] is not None
    assert read_image(str(tmp_path / 'garbage.png'), imdecode_backend='pillow')[1].startswith('cannot be decoded')


def test_the_checked_loader_loads_as_load_image_from_file_does(digits_dir):
    from mmcv.transforms import LoadImageFromFile

    path = str(next((digits_dir / 'train' / '4').glob('*.png')))
    ours, theirs = (
        LoadImageChecked(to_float32=True)(dict(img_path=path)),
        LoadImageFromFile(to_float32=True)(dict(img_path=path)),
    )
    assert ours.keys() == theirs.keys() and np.array_equal(ours['img'], theirs['img'])
    assert ours['img_shape'] == theirs['img_shape'] and ours['img'].dtype == np.float32


def test_the_checked_loader_raises_or_skips_and_records(tmp_path, monkeypatch):
    broken = tmp_path / 'broken.png'
    broken.write_bytes(GARBAGE)
    loader = LoadImageChecked(data_set='train_dataloader (x)', find_all='mmmixer check-data c.py --split train')
    with pytest.raises(BrokenImageError, match=r'^broken image in train_dataloader \(x\): .*broken\.png is not an'):
        loader(dict(img_path=str(broken)))

    record = tmp_path / 'record.tsv'
    monkeypatch.setenv(RECORD_ENV, str(record))
    skipping = LoadImageChecked(skip_broken=True)
    assert skipping(dict(img_path=str(broken))) is None and skipping(dict(img_path=str(broken))) is None
    lines = record.read_text().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f'{broken}\tis not an image')
    monkeypatch.delenv(RECORD_ENV)
    assert not record_skipped('x.png', 'problem')  # no report hook: nothing to record into


@pytest.mark.slow
def test_find_broken_images_in_several_processes(small_digits):
    from mmmixer.broken_images import find_broken_images

    paths = sorted(str(path) for path in (small_digits / 'train').rglob('*.png'))
    seen = []
    broken = list(find_broken_images(paths, {}, workers=2, progress=lambda checked, bad: seen.append((checked, bad))))
    assert [path for path, _ in broken] == [str(small_digits / name) for name in BROKEN]
    assert seen[-1] == (len(paths), 2) and len(seen) == len(paths)
