import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic_cpu():
    """Every test starts from the same seed, with 2 threads as on the project machines."""
    torch.manual_seed(0)
    torch.set_num_threads(2)
    yield
