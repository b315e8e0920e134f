import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic_cpu():
    """Every test starts from the same seed, with 2 threads as on the project machines."""
    torch.manual_seed(0)
    torch.set_num_threads(2)
    yield


@pytest.fixture(scope='session')
def digits_dir(tmp_path_factory):
    from mmmixer.datasets import prepare_digits

    root = tmp_path_factory.mktemp('digits') / 'digits'
    info = prepare_digits(str(root))
    assert (info['num_train'], info['num_val']) == (1438, 359)
    return root
