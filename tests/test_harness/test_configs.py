"""The generative harness for configs: the demo config with one thing changed at random (a key dropped, renamed or
given a value of another type, zero, negative or huge), trained through the front door in this process up to its
first training iteration. Each example ends with exit code 0, or exit code 2 with exactly one ``error:`` line on
stderr and nothing in the work dir; anything else (a traceback, a second line, a file left behind) fails.

The 'ci' profile (tests/conftest.py) tries a few seeded examples; ``HYPOTHESIS_PROFILE=deep pytest
tests/test_harness/test_configs.py -m slow`` tries many more (docs/errors.md).
"""

from __future__ import annotations

import contextlib
import copy
import io
import itertools
import signal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.helpers import REPO, TINY_DEMO_MODEL

DEMO = REPO / 'configs' / 'mixer-demo_digits.py'
# The parts of the demo config that a training run reads (its variables, e.g. train_pipeline, were used up when the
# file was read).
SECTIONS = (
    'model', 'data_preprocessor', 'train_dataloader', 'val_dataloader', 'optim_wrapper', 'param_scheduler',
    'train_cfg', 'val_cfg', 'val_evaluator', 'default_hooks', 'randomness', 'env_cfg', 'skip_broken_images',
)  # fmt: skip
ODD_VALUES = [0, -1, -0.5, 10**12, 1e30, '', 'x', None, True, [], [1], {}, (1, 2)]
SECONDS_PER_EXAMPLE = 120
_cases = itertools.count()


class FirstIterationDone(Exception):
    """Raised by the harness after the first training iteration: the run got past build, checks and one step."""


def demo_config() -> dict:
    """The demo config as a plain dict, with the tiny model of the fast tests and one iteration per epoch."""
    from mmmixer.config.options import merge_options, parse_options
    from mmmixer.config.read import read_config

    cfg = read_config(str(DEMO))
    merge_options(cfg, parse_options([*TINY_DEMO_MODEL, 'train_dataloader.batch_size=4', 'train_cfg.max_epochs=1']))
    return cfg.to_dict()


def leaf_paths(node, prefix=()) -> list[tuple]:
    """Every key path below ``node`` (dict keys and list indices), parents before children."""
    paths = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list | tuple) else []
    for key, value in items:
        paths.append((*prefix, key))
        paths += leaf_paths(value, (*prefix, key))
    return paths


def mutate(config: dict, path: tuple, how: str, value) -> dict:
    """``config`` with the entry at ``path`` dropped, renamed (``value``: the new name) or set to ``value``."""
    config = copy.deepcopy(config)
    parent = config
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if isinstance(parent, tuple):  # tuples are values: rebuild the parent as a list
        return config  # (left unchanged: the strategy does not reach into tuples)
    if how == 'drop':
        parent.pop(last) if isinstance(parent, dict) else parent.pop(last)
    elif how == 'rename' and isinstance(parent, dict):
        parent[value] = parent.pop(last)
    else:
        parent[last] = value
    return config


@st.composite
def config_changes(draw, config: dict):
    paths = [path for path in leaf_paths(config) if path[0] in SECTIONS]
    path = draw(st.sampled_from(paths))
    how = draw(st.sampled_from(['drop', 'rename', 'value', 'value']))
    if how == 'rename':
        name = str(path[-1])
        value = draw(st.sampled_from([name + 's', name[:-1], name.upper(), name + '_']))
    elif how == 'value':
        current = _get(config, path)
        retyped = [str(current), repr(current)] if not isinstance(current, str) else [1, [current]]
        value = draw(st.sampled_from(ODD_VALUES + retyped))
    else:
        value = None
    return path, how, value


def _get(config: dict, path: tuple):
    for key in path:
        config = config[key]
    return config


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory) -> Path:
    """Ten classes of random 32x32 PNGs: 4 training images (one batch), 2 held out."""
    root = tmp_path_factory.mktemp('harness') / 'data'
    rng = np.random.default_rng(0)
    for split, count in (('train', 4), ('val', 2)):
        for i in range(count):
            folder = root / split / str(i)
            folder.mkdir(parents=True)
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / '0.png')
    return root


@contextlib.contextmanager
def time_limit(seconds: int):
    def expired(signum, frame):
        raise TimeoutError(f'the example ran past {seconds} s')

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def stop_after_the_first_iteration(monkeypatch) -> None:
    """``mmmixer train`` runs as it is, except that a hook ends the run after its first training iteration."""
    from mmengine.hooks import Hook

    import mmmixer.cli.train
    from mmmixer.engine.runner import run_to_the_end as real

    class Stop(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            raise FirstIterationDone

    def run_one_iteration(runner, run):
        runner.register_hook(Stop(), priority='LOWEST')
        try:
            return real(runner, run)
        except FirstIterationDone:
            return None

    monkeypatch.setattr(mmmixer.cli.train, 'run_to_the_end', run_one_iteration)


def train_in_process(config_file: Path, work_dir: Path, data: Path) -> tuple[int, str, str]:
    """``mmmixer train CONFIG --work-dir W --data-root DATA`` in this process: (exit code, stdout, stderr)."""
    from mmmixer.cli.main import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), time_limit(SECONDS_PER_EXAMPLE):
        try:
            code = main(['train', str(config_file), '--work-dir', str(work_dir), '--data-root', str(data)])
        except SystemExit as exit_:
            code = exit_.code
    return code, stdout.getvalue(), stderr.getvalue()


def check_one_change(change, config: dict, tiny_data: Path, root: Path) -> None:
    from mmengine.config import Config

    path, how, value = change
    case = root / f'case_{next(_cases)}'  # a name of its own: mmengine names loggers after the config file
    case.mkdir()
    config_file = case / f'{case.name}.py'
    Config(mutate(config, path, how, value)).dump(str(config_file))
    work_dir = case / 'work'
    code, stdout, stderr = train_in_process(config_file, work_dir, tiny_data)
    what = f'{".".join(map(str, path))}: {how} {value!r}'
    assert code in (0, 2), f'{what}: exit code {code}\n{stderr[-3000:]}'
    if code == 2:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith('error: '), f'{what}: stderr is not one line:\n{stderr[-3000:]}'
        left = sorted(str(p.relative_to(case)) for p in work_dir.rglob('*')) if work_dir.exists() else []
        assert not left, f'{what}: refused ({lines[0]}) but left {left}'


# No shrinking: an example costs seconds, and the failing change is printed as it was drawn.
NO_SHRINKING = [Phase.explicit, Phase.reuse, Phase.generate]


@given(data=st.data())
@settings(phases=NO_SHRINKING, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_a_changed_demo_config_trains_or_is_refused_in_one_line(data, tiny_data, tmp_path, monkeypatch):
    stop_after_the_first_iteration(monkeypatch)
    config = demo_config()
    check_one_change(data.draw(config_changes(config)), config, tiny_data, tmp_path)


@pytest.mark.slow
@given(data=st.data())
@settings(
    max_examples=max(60, settings.default.max_examples),
    phases=NO_SHRINKING,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_many_changed_demo_configs_train_or_are_refused_in_one_line(data, tiny_data, tmp_path, monkeypatch):
    stop_after_the_first_iteration(monkeypatch)
    config = demo_config()
    check_one_change(data.draw(config_changes(config)), config, tiny_data, tmp_path)
