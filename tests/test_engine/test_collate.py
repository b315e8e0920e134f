"""Images of different sizes in one batch: the run ends with one line naming the sizes, the dataloader and the fix."""

import numpy as np
import pytest
import torch
from PIL import Image

from mmmixer.cli.train import main as train_main
from mmmixer.engine.collate import default_collate
from mmmixer.errors import InputSizeError
from tests.helpers import run_main, tiny_image_folder, tiny_training_options


def test_the_same_batches_as_mmengines_default_collate():
    from mmengine.dataset import default_collate as mmengine_default_collate

    batch = [dict(inputs=torch.full((3, 4, 4), i, dtype=torch.uint8), label=i) for i in range(3)]
    ours, theirs = default_collate(batch), mmengine_default_collate(batch)
    assert torch.equal(ours['inputs'], theirs['inputs']) and torch.equal(ours['label'], theirs['label'])


def test_images_of_different_sizes_name_their_sizes_and_the_loader():
    batch = [dict(inputs=torch.zeros(3, 48, 48)), dict(inputs=torch.zeros(3, 40, 64))]
    with pytest.raises(InputSizeError, match=r'^val_dataloader batches images of different sizes \(3x48x48, 3x40x64\)'):
        default_collate(batch, loader='val_dataloader')


def test_a_validation_set_of_mixed_sizes_ends_training_in_one_line(tmp_path):
    data = tiny_image_folder(tmp_path / 'data')
    for index, size in enumerate([(48, 48), (40, 64)]):  # a val split whose images the pipeline does not resize
        folder = data / 'val' / str(index)
        folder.mkdir(parents=True)
        Image.fromarray(np.zeros((*size, 3), np.uint8)).save(folder / 'a.png')
    config = tmp_path / 'no_resize.py'  # a user's config whose test pipeline keeps each image's size
    config.write_text(
        "_base_ = ['mmmixer::mixer-demo_digits.py']\n"
        "val_dataloader = dict(dataset=dict(pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]))\n"
    )
    code, output = run_main(
        train_main, config, '--work-dir', tmp_path / 'work', '--cfg-options',
        *tiny_training_options(data, epochs=1), 'train_cfg.val_interval=1',
        f'val_dataloader.dataset.data_root={data}', 'val_dataloader.batch_size=2',
    )  # fmt: skip
    assert code == 2, output[-3000:]
    last = output.strip().splitlines()[-1]
    assert last.startswith('error: val_dataloader batches images of different sizes (3x48x48, 3x40x64)'), last
