import numpy as np
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
    from mmmixer.dataset_writers import prepare_digits

    root = tmp_path_factory.mktemp('digits') / 'digits'
    info = prepare_digits(str(root))
    # Stratified 20%: each class rounds its own share (scikit-learn's class sizes, counted independently).
    from sklearn.datasets import load_digits

    class_sizes = np.bincount(load_digits().target)
    assert info['num_val'] == sum(round(0.2 * size) for size in class_sizes)
    assert info['num_train'] + info['num_val'] == class_sizes.sum() == 1797
    return root
