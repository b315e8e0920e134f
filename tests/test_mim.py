"""openmim drives a non-editable install as it drives mmpretrain's: ``mim train|test|run|search mmmixer ...`` find
the tools, configs and model index that the wheel carries in ``mmmixer/.mim``. Run from an unrelated
directory with only the install (and the environment's packages) on the path, as tests/test_install.py does."""

import os
import subprocess
import sys

import pytest

from tests.helpers import TINY_DEMO_MODEL
from tests.test_install import installed  # noqa: F401  (the module-scoped install fixture)

pytest.importorskip('mim', reason='openmim is in the tests extra (requirements/tests.txt)')


def mim(target, cwd, *args, timeout=600):
    """``python -m mim ARGS`` with only the install on PYTHONPATH, from ``cwd``: (exit code, output)."""
    env = {**os.environ, 'PYTHONPATH': str(target), 'OMP_NUM_THREADS': '1'}
    command = [sys.executable, '-m', 'mim', *map(str, args)]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.slow
def test_the_wheel_carries_tools_and_model_index_as_mmpretrains_does(installed):  # noqa: F811
    mim_dir = installed / 'mmmixer' / '.mim'
    assert (mim_dir / 'model-index.yml').is_file()
    for script in ('train.py', 'test.py', 'analysis_tools/get_flops.py', 'dist_train.sh'):
        assert (mim_dir / 'tools' / script).is_file(), script
    assert not list(mim_dir.rglob('__pycache__'))


@pytest.mark.slow
def test_mim_trains_tests_counts_and_searches_mmmixer(installed, tmp_path, digits_dir):  # noqa: F811
    data = [f'{loader}.dataset.data_root={digits_dir}' for loader in ('train_dataloader', 'val_dataloader')]
    code, output = mim(installed, tmp_path, 'train', 'mmmixer', 'mixer-demo_digits.py', '--work-dir', 'work',
        '--cfg-options', *data, *TINY_DEMO_MODEL, 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1')  # fmt: skip
    assert code == 0, output[-4000:]
    packaged = installed / 'mmmixer' / '.mim'
    assert f'{packaged}/tools/train.py' in output  # the wheel's tool, not the checkout's
    checkpoint = tmp_path / 'work' / 'epoch_1.pth'
    assert checkpoint.is_file()

    code, output = mim(installed, tmp_path, 'test', 'mmmixer', 'mixer-demo_digits.py', '--checkpoint', checkpoint,
        '--cfg-options', f'test_dataloader.dataset.data_root={digits_dir}', *TINY_DEMO_MODEL)  # fmt: skip
    assert code == 0 and 'accuracy/top1:' in output, output[-4000:]

    code, output = mim(installed, tmp_path, 'run', 'mmmixer', 'get_flops', 'mixer-b16_in1k.py')
    assert code == 0 and 'FLOPs: 12.62 G' in output, output[-4000:]
    assert f'{packaged}/tools/analysis_tools/get_flops.py' in output, output[-4000:]

    code, output = mim(installed, tmp_path, 'search', 'mmmixer')
    assert code == 0, output[-4000:]
    for name in ('mixer-b16_in1k', 'mixer-l16_in1k', 'mixer-demo_digits'):
        assert name in output, output


@pytest.mark.slow
def test_mmpretrains_hub_finds_the_wheels_model_index_and_configs(installed, tmp_path):  # noqa: F811
    code = (
        'import mmmixer; from mmpretrain import get_model, list_models; from mmpretrain.apis import ModelHub; '
        "print(list_models('mixer-')); print(ModelHub.get('mixer-b16_in1k').config.filename); "
        "print(type(get_model('mixer-demo_digits').backbone).__module__)"
    )
    env = {**os.environ, 'PYTHONPATH': str(installed)}
    result = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-4000:]
    names, config, module = result.stdout.strip().splitlines()[-3:]
    assert names == str(['mixer-b16_in1k', 'mixer-demo_digits', 'mixer-l16_in1k'])
    assert config == str(installed / 'mmmixer' / '.mim' / 'configs' / 'mixer-b16_in1k.py')  # not the checkout's
    assert module == 'mmmixer.models.backbones.mlp_mixer'
