"""The front door: ``mmmixer COMMAND`` / ``python -m mmmixer COMMAND``, the same functions as ``tools/*.py``,
and configs named from any directory."""

import ast
import subprocess
import sys

import numpy as np
import pytest

from mmmixer.cli.main import COMMANDS, main
from mmmixer.config.find import configs_dir, find_config
from tests.helpers import REPO


def front_door(capsys, *args) -> tuple[int, str, str]:
    """``mmmixer ARGS`` in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    try:
        code = main([str(arg) for arg in args])
    except SystemExit as exit_:
        code = exit_.code
    stdout, stderr = capsys.readouterr()
    return code, stdout, stderr


def test_help_lists_every_command(capsys):
    code, stdout, stderr = front_door(capsys, '--help')
    assert code == 0, stderr
    for name, command in COMMANDS.items():
        assert f'  {name}' in stdout and command.summary in stdout


@pytest.mark.slow
def test_python_dash_m_mmmixer_is_the_front_door():
    result = subprocess.run([sys.executable, '-m', 'mmmixer', '--help'], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0 and result.stdout.startswith('usage: mmmixer'), result.stderr


@pytest.mark.parametrize('name', COMMANDS)
def test_each_command_has_its_own_help(capsys, name):
    code, stdout, _ = front_door(capsys, name, '-h')
    assert code == 0 and stdout.startswith(f'usage: mmmixer {name}')


def test_every_tool_runs_a_front_door_command():
    """tools/**/*.py stay thin wrappers: each calls a function that a `mmmixer` command calls too."""
    import mmmixer.cli.convert

    front_door_functions = {(command.module, command.function) for command in COMMANDS.values()}
    front_door_functions |= {('mmmixer.cli.convert', 'to_mmmixer_main'), ('mmmixer.cli.convert', 'to_timm_main')}
    assert {function.func if hasattr(function, 'func') else function for _, function in
        mmmixer.cli.convert.CONVERSIONS.values()} == {mmmixer.cli.convert.to_mmmixer_main,
        mmmixer.cli.convert.to_timm_main}  # fmt: skip
    tools = sorted(path for path in (REPO / 'tools').rglob('*.py'))
    assert len(tools) >= 12
    for path in tools:
        imports = [
            (node.module, alias.name)
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module.startswith('mmmixer')
            for alias in node.names
        ]
        assert len(imports) == 1 and imports[0] in front_door_functions, (path, imports)


def test_unknown_command_is_one_line_and_exit_2(capsys):
    code, _, stderr = front_door(capsys, 'trian', 'configs/mixer-b16_in1k.py')
    errors = [line for line in stderr.splitlines() if 'error' in line]
    assert code == 2 and len(errors) == 1 and "invalid choice: 'trian'" in errors[0] and "'train'" in errors[0]


def test_a_missing_config_is_one_line_naming_where_it_looked(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, stderr = front_door(capsys, 'train', 'mixer-b99_in1k.py', '--work-dir', tmp_path / 'w')
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert str(tmp_path / 'mixer-b99_in1k.py') in stderr and str(REPO / 'configs' / 'mixer-b99_in1k.py') in stderr
    assert not (tmp_path / 'w').exists()


def test_convert_through_the_front_door_names_the_right_conversion(capsys, tmp_path):
    npz = tmp_path / 'weights.npz'
    np.savez(npz, x=np.zeros(1))
    code, _, stderr = front_door(capsys, 'convert', 'timm-to-mmmixer', npz, tmp_path / 'out.pth')
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith('mmmixer convert timm-to-mmmixer: error:')
    assert 'use jax_to_mmmixer.py (mmmixer convert jax-to-mmmixer)' in stderr
    assert not (tmp_path / 'out.pth').exists()


@pytest.mark.parametrize(
    'name', ['configs/mixer-b16_in1k.py', 'mixer-b16_in1k.py', str(REPO / 'configs' / 'mixer-b16_in1k.py')]
)
def test_a_config_is_found_by_name_from_any_directory(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    assert find_config(name) == str(REPO / 'configs' / 'mixer-b16_in1k.py')
    assert find_config('detection/retinanet_mixer-demo_pyramid_digits.py') == str(
        REPO / 'configs' / 'detection' / 'retinanet_mixer-demo_pyramid_digits.py'
    )


def test_a_config_file_that_exists_wins_over_the_packaged_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'configs').mkdir()
    (tmp_path / 'configs' / 'mixer-b16_in1k.py').write_text('mine = 1\n')
    assert find_config('configs/mixer-b16_in1k.py') == 'configs/mixer-b16_in1k.py'
    assert configs_dir() == str(REPO / 'configs')  # a checkout reads its own configs/, never a stale copy


@pytest.mark.parametrize(
    'command', [['benchmark', '--smoke', '--json'], ['vis-token-mixing', 'model.pth', '--out']], ids=lambda c: c[0]
)
def test_an_output_in_a_missing_folder_is_refused_before_any_work(capsys, tmp_path, command):
    # The benchmark used to measure for minutes and then end with a raw FileNotFoundError.
    code, _, stderr = front_door(capsys, *command, tmp_path / 'missing' / 'out')
    assert code == 2 and stderr.count('\n') == 1, stderr
    assert f'error: output folder {tmp_path / "missing"} does not exist; create it first' in stderr


@pytest.mark.parametrize('command', ['prepare-digits', 'prepare-digit-detection'])
def test_a_held_out_fraction_that_empties_a_split_is_one_line(capsys, tmp_path, command):
    code, _, stderr = front_door(capsys, command, tmp_path / 'out', '--val-fraction', '1')
    assert code == 2 and 'val_fraction=1.0 must be between 0 and 1' in stderr and stderr.count('\n') == 1, stderr
    assert not (tmp_path / 'out').exists() and list(tmp_path.iterdir()) == []
