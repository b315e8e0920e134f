import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

# The generative harness (tests/test_harness/): a few seeded examples in every run ('ci', the default); the deeper
# profile with `HYPOTHESIS_PROFILE=deep pytest tests/test_harness -m slow` (docs/errors.md). derandomize=True: the
# same examples every run, so a failure reproduces; print_blob prints the example's seed when one fails.
_HARNESS = dict(derandomize=True, print_blob=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile('ci', max_examples=8, **_HARNESS)
settings.register_profile('deep', max_examples=300, **_HARNESS)
settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'ci'))

# Programs whose start makes a test slow: another Python (a tool, the CLI, pip), a shell script or torchrun.
SLOW_PROGRAMS = ('python', 'bash', 'sh', 'torchrun', 'mmmixer', 'make')


def _program(args) -> str:
    first = args if isinstance(args, str | os.PathLike) else next(iter(args), '')
    return os.path.basename(str(first).split()[0] if isinstance(first, str) else str(first))


@pytest.fixture(autouse=True)
def _subprocesses_only_in_slow_tests(request, monkeypatch):
    """`slow` means "starts a subprocess or builds a B/16-or-larger model" (`-m "not slow"` is the fast loop): a
    test that starts a Python process, a shell script or torchrun without the mark fails, naming the command.
    (Libraries' own short calls, such as mmengine asking `gcc --version`, are not counted.)"""
    if request.node.get_closest_marker('slow') is not None:
        return
    popen = subprocess.Popen

    def refuse_slow_programs(args, *more, **kwargs):
        program = _program(args)
        if program.startswith(SLOW_PROGRAMS) or program == os.path.basename(sys.executable):
            pytest.fail(f'{request.node.nodeid} starts {program!r} but is not marked @pytest.mark.slow')
        return popen(args, *more, **kwargs)

    monkeypatch.setattr(subprocess, 'Popen', refuse_slow_programs)


@pytest.fixture(autouse=True)
def _deterministic_cpu():
    """Every test starts from the same seed, with 2 threads as on the project machines."""
    torch.manual_seed(0)
    torch.set_num_threads(2)
    yield


@pytest.fixture(scope='session')
def digits_dir(tmp_path_factory):
    from mmmixer.dataset_writers import prepare_digits

    root = tmp_path_factory.mktemp('digits') / 'digits'
    info = prepare_digits(str(root))
    # Stratified 20%: each class rounds its own share (scikit-learn's class sizes, counted independently).
    from sklearn.datasets import load_digits

    class_sizes = np.bincount(load_digits().target)
    assert info['num_val'] == sum(round(0.2 * size) for size in class_sizes)
    assert info['num_train'] + info['num_val'] == class_sizes.sum() == 1797
    return root
