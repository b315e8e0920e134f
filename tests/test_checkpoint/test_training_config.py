"""The config saved in a checkpoint is read without running it: literal settings only, never its code."""

from mmengine.config import Config

from mmmixer.checkpoint.training_config import (
    describe_model,
    literal_settings,
    training_config_file,
    training_settings,
)
from tests.helpers import REPO


def test_literal_settings_are_read_and_code_is_never_run(tmp_path):
    marker = tmp_path / 'ran'
    source = f"""
import os
os.system('touch {marker}')
model = dict(type='ImageClassifier', head=dict(num_classes=10, topk=(1, -5)), layers=[1, 2.5, None, True])
work_dir = 'work_dirs/demo'
called = __import__('os').system('touch {marker}')
computed = 3 * 4
by_name = model
with_star = dict(**model)
"""
    settings = literal_settings(source)
    assert not marker.exists()
    assert settings == {
        'model': {
            'type': 'ImageClassifier',
            'head': {'num_classes': 10, 'topk': (1, -5)},
            'layers': [1, 2.5, None, True],
        },
        'work_dir': 'work_dirs/demo',
    }
    assert literal_settings('model = dict(') == {} and literal_settings('a = 1\x00') == {}


def test_a_real_configs_text_gives_its_model():
    text = Config.fromfile(str(REPO / 'configs/mixer-demo_digits.py')).pretty_text
    settings = literal_settings(text)
    assert settings['model']['backbone']['img_size'] == 32
    assert describe_model(settings) == 'ImageClassifier, backbone mmmixer.MlpMixer, 10 classes'


def test_the_config_file_is_found_beside_the_checkpoint_only(tmp_path):
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    (work_dir / 'my_config.py').write_text('model = dict()\n')
    meta = {'cfg': f"work_dir = '{work_dir}'\n", 'experiment_name': 'my_config_20261206_053000'}
    assert training_config_file({'meta': meta}, str(work_dir / 'epoch_2.pth')) == str(work_dir / 'my_config.py')
    # A work_dir named inside the checkpoint is not followed: it could point at any Python file.
    assert training_config_file({'meta': meta}, '/elsewhere/epoch_2.pth') is None
    assert training_config_file({'meta': {'experiment_name': '20261206_053000'}}, str(work_dir / 'e.pth')) is None
    assert training_config_file({'state_dict': {}}, 'x.pth') is None and training_settings({'meta': 'x'}) == {}
