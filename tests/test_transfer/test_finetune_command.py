"""`mmmixer finetune` end to end on a tiny Mixer: the folder's classes go into the checkpoint, and `mmmixer infer`
names them."""

import json

import pytest

from mmmixer.checkpoint import load_checkpoint_safely
from mmmixer.cli import finetune, infer
from tests.helpers import run_main
from tests.test_transfer.test_finetune_setup import save_mixer
from tests.test_transfer.test_folders import image_folder


@pytest.mark.slow
def test_finetuned_checkpoint_classifies_with_the_folders_class_names(tmp_path):
    folder = image_folder(tmp_path / 'photos', {'cat': 3, 'dog': 3, 'owl': 2})
    pretrained = save_mixer(tmp_path / 'pretrained.pth', head_classes=1000)  # 32 px, patch 4, a 1000-class head
    work_dir = tmp_path / 'work'
    code, output = run_main(
        finetune.main, pretrained, folder, '--val', folder, '--steps', 3, '--img-size', 32, '--work-dir', work_dir
    )
    assert code == 0, output
    assert '3 classes; 3 steps of 8 images' in output
    checkpoint = work_dir / 'iter_3.pth'
    saved = load_checkpoint_safely(checkpoint)
    assert saved['meta']['dataset_meta']['classes'] == ('cat', 'dog', 'owl')
    assert saved['state_dict']['head.fc.weight'].shape == (3, 24)
    config = work_dir / 'mixer-b16_in1k-pre_custom.py'
    assert f'mmmixer infer IMAGE --model {config} --pretrained {checkpoint}' in output

    out = tmp_path / 'predictions.json'
    code, output = run_main(
        infer.main, folder / 'owl' / '0.png', '--model', config, '--pretrained', checkpoint, '--out', out
    )
    assert code == 0, output
    (result,) = json.loads(out.read_text())['results']
    assert sorted(p['class'] for p in result['predictions']) == ['cat', 'dog', 'owl']  # the folder's class names
