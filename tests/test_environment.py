"""mmcv's compiled ops: the classification path runs without them, detection says how to get them.

`make setup` installs mmcv without its compiled ops (2.1.0+lite); these tests simulate that in subprocesses,
whatever mmcv the test environment has, by hiding ``mmcv._ext`` (a ``sitecustomize`` on PYTHONPATH, so that
the tools' own subprocesses are covered too).
"""

import os
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from mmmixer.environment import config_needs_compiled_ops, has_compiled_ops
from tests.helpers import REPO, TINY_DEMO_MODEL, run

CLASSIFICATION_CONFIGS = sorted(REPO.glob('configs/*.py'))
DETECTION_CONFIGS = sorted((REPO / 'configs/detection').glob('*.py'))  # models, and a shared fragment
SEGMENTATION_CONFIGS = sorted((REPO / 'configs/segmentation').glob('*.py'))

# As in mmcv without compiled ops: `mmcv._ext` is not found (find_spec gives None, as mmengine's
# `mmcv_full_available` checks), and `import mmcv.ops` fails where mmcv.ops loads it.
HIDE_MMCV_EXT = """
import sys

sys.modules['mmcv._ext'] = None
"""

CLASSIFICATION_IMPORTS = f"""
import sys

try:
    import mmcv.ops
except ImportError:
    pass
else:
    raise SystemExit('mmcv._ext is not hidden')

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmmixer
import mmmixer.cli.convert, mmmixer.cli.demo, mmmixer.cli.test, mmmixer.cli.train, mmmixer.converters
from mmmixer.environment import has_compiled_ops
from mmmixer.models import MixerPyramidNeck, MlpMixer

assert not has_compiled_ops()
init_default_scope('mmpretrain')
from mmpretrain.registry import MODELS

MODELS.build(Config.fromfile('{REPO}/configs/mixer-b16_in1k.py').model)
classifier = MODELS.build(Config.fromfile('{REPO}/configs/mixer-demo_digits.py').model).eval()
with torch.no_grad():
    scores = classifier(torch.randn(2, 3, 32, 32), mode='tensor')
assert scores.shape == (2, 10), scores.shape
tiny = dict(embed_dims=32, num_layers=2, tokens_mlp_dims=16, channels_mlp_dims=64)
backbone = MlpMixer(arch=tiny, img_size=64, patch_size=16, token_mixing='window', out_type='featmap').eval()
neck = MixerPyramidNeck(in_channels=32, out_channels=16).eval()
with torch.no_grad():
    pyramid = neck(backbone(torch.randn(1, 3, 128, 128)))
assert [tuple(level.shape[-2:]) for level in pyramid] == [(32, 32), (16, 16), (8, 8), (4, 4)]
loaded = [name for name, module in sys.modules.items() if module and name.startswith(('mmcv.ops', 'mmcv._ext'))]
assert not loaded, loaded
print('classification imports: fine without mmcv.ops')
"""


def env_without_compiled_ops(tmp_path: Path) -> dict:
    """Environment variables under which every Python subprocess runs as on mmcv without compiled ops."""
    hook_dir = tmp_path / 'hide_mmcv_ext'
    hook_dir.mkdir()
    (hook_dir / 'sitecustomize.py').write_text(HIDE_MMCV_EXT)
    python_path = [str(hook_dir), str(REPO), *filter(None, [os.environ.get('PYTHONPATH')])]
    return {'PYTHONPATH': os.pathsep.join(python_path)}


def test_which_configs_need_compiled_ops():
    assert DETECTION_CONFIGS and CLASSIFICATION_CONFIGS
    assert len(SEGMENTATION_CONFIGS) >= 2
    detectors = [Config.fromfile(str(path)) for path in DETECTION_CONFIGS + SEGMENTATION_CONFIGS]
    detectors = [cfg for cfg in detectors if 'model' in cfg]
    assert len(detectors) >= 4
    for cfg in detectors:
        assert config_needs_compiled_ops(cfg), cfg.filename
    for path in CLASSIFICATION_CONFIGS:
        assert not config_needs_compiled_ops(Config.fromfile(str(path))), path.name
    by_model_type = Config(dict(default_scope='mmpretrain', model=dict(type='mmdet.RetinaNet')))
    by_import = Config(dict(custom_imports=dict(imports=['mmmixer', 'mmdet.models'])))
    assert config_needs_compiled_ops(by_model_type)
    assert config_needs_compiled_ops(by_import)


def test_a_detection_config_without_compiled_ops_raises_and_never_exits(monkeypatch):
    """Library code raises (a notebook importing mmmixer must survive); the command lines print it (slow test below)."""
    import mmmixer.environment as compiled_ops

    monkeypatch.setattr(compiled_ops, 'has_compiled_ops', lambda: False)
    detector = Config.fromfile(str(REPO / 'configs/detection/retinanet_mixer-demo_pyramid_digits.py'))
    with pytest.raises(compiled_ops.MissingCompiledOpsError, match=r"retinanet_mixer-demo_pyramid_digits.py builds "
                       r"mmdet models, which need mmcv's compiled ops .* run `make setup-full` once"):  # fmt: skip
        compiled_ops.check_compiled_ops(detector)
    compiled_ops.check_compiled_ops(Config.fromfile(str(REPO / 'configs/mixer-demo_digits.py')))  # no error


def test_a_segmentation_config_says_how_to_get_the_ops_and_mmseg(monkeypatch):
    import importlib.util

    import mmmixer.environment as compiled_ops

    segmentor = Config.fromfile(str(REPO / 'configs/segmentation/upernet_mixer-demo_pyramid_digits.py'))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name: None if name == 'mmseg' else real_find_spec(name))
    # A lite environment (`make setup`): neither the ops nor mmseg.
    monkeypatch.setattr(compiled_ops, 'has_compiled_ops', lambda: False)
    with pytest.raises(compiled_ops.MissingCompiledOpsError, match=r"upernet_mixer-demo_pyramid_digits.py builds mmseg "
                       r"models, which need mmcv's compiled ops .* run `make setup-full` once \(it builds them "
                       r"and installs mmsegmentation: "):  # fmt: skip
        compiled_ops.check_compiled_ops(segmentor)
    # The ops without mmseg (e.g. `pip install mmmixer[det]`).
    monkeypatch.setattr(compiled_ops, 'has_compiled_ops', lambda: True)
    with pytest.raises(compiled_ops.MissingCompiledOpsError, match=r"builds mmseg models and mmsegmentation is not "
                       r"installed: run `make setup-full`, or pip install 'mmmixer\[seg\]'"):  # fmt: skip
        compiled_ops.check_compiled_ops(segmentor)


def test_make_test_runs_with_mmcv_compiled_ops():
    """`make test` depends on `make setup-full`: the detection tests in this suite need the ops."""
    assert has_compiled_ops(), "mmcv's compiled ops do not load here; `make setup-full` installs them"


@pytest.mark.slow
def test_classification_path_needs_no_compiled_ops(tmp_path):
    env = env_without_compiled_ops(tmp_path)
    _, output = run(sys.executable, '-c', CLASSIFICATION_IMPORTS, env=env)
    assert 'classification imports: fine without mmcv.ops' in output

    # The demo's own steps, shrunk: prepare the digits, train, test (each tool in its own process).
    data, work_dir = tmp_path / 'digits', tmp_path / 'work'
    config = REPO / 'configs/mixer-demo_digits.py'
    data_root = [f'{loader}.dataset.data_root={data}' for loader in ('train_dataloader', 'val_dataloader')]
    shrink = [*TINY_DEMO_MODEL, 'train_cfg.max_epochs=1', 'param_scheduler.0.end=1', *data_root]
    run('tools/dataset_converters/prepare_digits.py', data, env=env)
    _, train_output = run('tools/train.py', config, '--work-dir', work_dir, '--cfg-options', *shrink, env=env)
    _, output = run(
        'tools/test.py', config, work_dir / 'epoch_1.pth', '--work-dir', work_dir,
        '--cfg-options', *TINY_DEMO_MODEL, f'test_dataloader.dataset.data_root={data}', env=env,
    )  # fmt: skip
    assert 'Test results for' in output and 'accuracy/top1' in output
    # mmcv's warning about the missing ops ("install mmcv rather than mmcv-lite") is noise here: silenced
    assert 'MultiScaleDeformableAttention' not in train_output + output


@pytest.mark.slow
@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/test.py', 'tools/analysis_tools/get_flops.py'])
def test_detection_without_compiled_ops_says_how_to_get_them(tmp_path, tool):
    coco = tmp_path / 'coco'
    for folder in ('annotations', 'train2017', 'val2017'):
        (coco / folder).mkdir(parents=True)
    for split in ('train2017', 'val2017'):
        (coco / 'annotations' / f'instances_{split}.json').write_text('{}')
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    data_root = [f'{loader}.dataset.data_root={coco}/' for loader in loaders]
    config = REPO / 'configs/detection/retinanet_mixer-b16_pyramid_1x_coco.py'
    checkpoint = tmp_path / 'detector.pth'
    checkpoint.write_bytes(b'never read')
    arguments = {
        'tools/train.py': [config, '--work-dir', tmp_path / 'work', '--cfg-options', *data_root],
        'tools/test.py': [config, checkpoint, '--work-dir', tmp_path / 'work', '--cfg-options', *data_root],
        'tools/analysis_tools/get_flops.py': [config],
    }[tool]
    code, output = run(tool, *arguments, env=env_without_compiled_ops(tmp_path), check=False)
    assert code == 2, output
    assert 'Traceback' not in output, output
    last_line = output.strip().splitlines()[-1]
    assert "need mmcv's compiled ops" in last_line and '`make setup-full`' in last_line, output
    assert not (tmp_path / 'work').exists()  # stopped before mmengine's Runner wrote anything


@pytest.mark.slow
def test_segmentation_without_compiled_ops_says_how_to_get_them(tmp_path):
    ade = tmp_path / 'ade'
    for folder in ('images/training', 'annotations/training', 'images/validation', 'annotations/validation'):
        (ade / folder).mkdir(parents=True)
    config = REPO / 'configs/segmentation/upernet_mixer-b16_pyramid_8xb2-160k_ade20k-512x512.py'
    data_root = [f'{loader}.dataset.data_root={ade}' for loader in ('train_dataloader', 'val_dataloader')]
    code, output = run('tools/train.py', config, '--work-dir', tmp_path / 'work', '--cfg-options', *data_root,
        env=env_without_compiled_ops(tmp_path), check=False)  # fmt: skip
    assert code == 2 and 'Traceback' not in output, output
    last_line = output.strip().splitlines()[-1]
    assert 'builds mmseg models' in last_line and '`make setup-full`' in last_line, output
    assert not (tmp_path / 'work').exists()


@pytest.mark.slow
def test_segmentation_config_without_mmseg_is_one_line(tmp_path):
    """On `make setup` mmseg is not installed, and mmengine cannot even read a config that inherits `mmseg::` ones."""
    hook_dir = tmp_path / 'hide_mmseg'
    hook_dir.mkdir()
    (hook_dir / 'sitecustomize.py').write_text(
        'import mmengine.config.config as config\n'
        'real = config.is_installed\n'
        "config.is_installed = lambda package: package != 'mmsegmentation' and real(package)\n"
    )
    env = {'PYTHONPATH': os.pathsep.join([str(hook_dir), str(REPO)])}
    config = REPO / 'configs/segmentation/upernet_mixer-demo_pyramid_digits.py'
    code, output = run('tools/train.py', config, '--work-dir', tmp_path / 'work', env=env, check=False)
    assert code == 2 and 'Traceback' not in output, output
    last_line = output.strip().splitlines()[-1]
    assert 'upernet_mixer-demo_pyramid_digits.py builds mmseg models' in last_line, output
    assert '`make setup-full`' in last_line and 'mmsegmentation' in last_line, output
