"""A non-editable install works from any directory: the front door, the packaged configs and the demo.

The package is built from a copy of the sources and installed into a folder of its own (no network:
``--no-deps --no-build-isolation --no-index``); the commands then run from an unrelated directory with
only that folder on PYTHONPATH, so nothing can come from the checkout.
"""

import os
import shutil
import subprocess
import sys

import pytest

from mmmixer.cli.main import COMMANDS
from tests.helpers import REPO, TINY_DEMO_MODEL

# What a build reads (setup.py, the package, the configs, tools and model index it copies into mmmixer/.mim).
SOURCES = ['setup.py', 'pyproject.toml', 'README.md', 'MANIFEST.in', 'mmmixer', 'configs', 'tools', 'model-index.yml']


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    source = tmp_path_factory.mktemp('source')
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns('__pycache__', '.mim'))
        else:
            shutil.copy(REPO / name, source / name)
    target = tmp_path_factory.mktemp('site')
    subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-build-isolation', '--no-index', '--no-compile',
            '--quiet', '--target', str(target), str(source)],
        check=True, timeout=300,
    )  # fmt: skip
    return target


def run_installed(target, cwd, *args, timeout=300):
    """``python -m mmmixer ARGS`` (or another command) with only the install on PYTHONPATH, from ``cwd``."""
    env = {**os.environ, 'PYTHONPATH': str(target), 'OMP_NUM_THREADS': '1'}
    command = [sys.executable, '-m', 'mmmixer', *map(str, args)] if args[0] != '-c' else [sys.executable, *args]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f'{command} failed with {result.returncode}:\n{output[-4000:]}'
    return output


@pytest.mark.slow
def test_the_install_carries_the_configs_and_answers_from_any_directory(installed, tmp_path):
    output = run_installed(installed, tmp_path, '-c', 'import mmmixer; print(mmmixer.__file__)')
    assert output.strip() == str(installed / 'mmmixer' / '__init__.py')  # not the checkout
    source, packaged = REPO / 'configs', installed / 'mmmixer' / '.mim' / 'configs'
    files = sorted(path.relative_to(source) for path in source.rglob('*.py'))
    assert files == sorted(path.relative_to(packaged) for path in packaged.rglob('*.py'))  # every folder, every file
    assert any(path.parts[:2] == ('detection', '_base_') for path in files)
    assert all((source / path).read_bytes() == (packaged / path).read_bytes() for path in files)

    for help_output in (
        run_installed(installed, tmp_path, '--help'),
        subprocess.run([installed / 'bin' / 'mmmixer', '--help'], capture_output=True, text=True, cwd=tmp_path,
            env={**os.environ, 'PYTHONPATH': str(installed)}, check=True).stdout,  # the console script
    ):  # fmt: skip
        assert all(f'  {name}' in help_output for name in COMMANDS), help_output

    # A bare name finds the packaged detection config; its `./_base_/` and `mmdet::` files load from there.
    output = run_installed(installed, tmp_path, 'get-flops', 'detection/retinanet_mixer-demo_pyramid_digits.py',
        '--shape', 64)  # fmt: skip
    assert 'Input shape: (3, 64, 64)' in output and 'Params:' in output

    # A user's config inherits the packaged ones by name (mmmixer::), from a directory that holds neither.
    mine = "_base_ = ['mmmixer::mixer-demo_digits.py']\nmodel = dict(head=dict(num_classes=3))\n"
    (tmp_path / 'mine.py').write_text(mine)
    (tmp_path / 'my_det.py').write_text("_base_ = ['mmmixer::detection/retinanet_mixer-demo_pyramid_digits.py']\n")
    output = run_installed(installed, tmp_path, 'get-flops', 'mine.py')
    assert 'Input shape: (3, 32, 32)' in output  # the demo model's own size, from the packaged base
    assert 'Input shape: (3, 64, 64)' in run_installed(installed, tmp_path, 'get-flops', 'my_det.py', '--shape', 64)
    assert str(installed / 'mmmixer' / '.mim' / 'configs') in run_installed(installed, tmp_path, 'env')


@pytest.mark.slow
def test_the_demo_runs_end_to_end_from_the_install(installed, tmp_path):
    output = run_installed(installed, tmp_path, 'demo', '--work-dir', 'work', '--data-dir', 'digits',
        '--cfg-options', *TINY_DEMO_MODEL, 'train_cfg.max_epochs=1')  # fmt: skip
    packaged_config = installed / 'mmmixer' / '.mim' / 'configs' / 'mixer-demo_digits.py'
    assert f'=== train: mmmixer train {packaged_config}' in output
    assert 'Demo done in' in output and 'checkpoint work/epoch_1.pth' in output
    assert (tmp_path / 'digits' / 'digits_split.json').is_file() and (tmp_path / 'work' / 'test_metrics.json').is_file()
