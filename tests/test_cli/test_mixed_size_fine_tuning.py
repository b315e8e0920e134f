"""Fine-tuning the demo on a user's folder of images of mixed sizes and modes trains and validates to the end."""

import numpy as np
import pytest
from PIL import Image

from tests.helpers import run, tiny_training_options


@pytest.mark.slow
def test_training_and_validation_on_mixed_sizes_and_modes_run_to_the_end(tmp_path):
    rng = np.random.default_rng(0)
    kinds = [
        lambda: Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)),
        lambda: Image.fromarray(rng.integers(0, 256, (40, 64, 4), dtype=np.uint8), 'RGBA'),
        lambda: Image.fromarray(rng.integers(0, 65536, (40, 64), dtype=np.uint16)),
        lambda: Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8)).convert('P'),
    ]
    for split in ('train', 'val'):
        for label in ('0', '1'):
            folder = tmp_path / 'data' / split / label
            folder.mkdir(parents=True)
            for index, kind in enumerate(kinds):
                kind().save(folder / f'{index}.png')
    options = tiny_training_options(tmp_path / 'data', epochs=1)
    code, output = run('tools/train.py', 'configs/mixer-demo_digits.py', '--work-dir', tmp_path / 'work',
        '--cfg-options', *options, f'val_dataloader.dataset.data_root={tmp_path / "data"}', 'train_cfg.val_interval=1',
        'val_dataloader.batch_size=8')  # fmt: skip
    assert code == 0 and 'accuracy/top1' in output, output[-3000:]
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
