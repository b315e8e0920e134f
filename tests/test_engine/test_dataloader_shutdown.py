"""Dataloader workers stop together when a run ends, through torch internals that a test watches."""

import time

import pytest
import torch

from mmmixer.engine.dataloader_shutdown import (
    TORCH_ITERATOR_INTERNALS,
    close_dataloader_workers,
    missing_torch_internals,
)


class _HangsAfterFirstBatch(torch.utils.data.Dataset):
    """A worker that never gets back to its queue: what PyTorch waits 5 s for, per worker."""

    def __len__(self):
        return 64

    def __getitem__(self, index):
        if index >= 4:
            time.sleep(600)
        return torch.zeros(1)


def test_workers_that_do_not_leave_are_stopped_together():
    loader = torch.utils.data.DataLoader(_HangsAfterFirstBatch(), batch_size=2, num_workers=4, persistent_workers=True)
    next(iter(loader))
    workers = list(loader._iterator._workers)
    start = time.monotonic()
    terminated = close_dataloader_workers([loader], timeout=1.0)
    elapsed = time.monotonic() - start
    assert not any(worker.is_alive() for worker in workers)
    assert terminated >= 3  # the workers stuck in __getitem__
    # PyTorch's own shutdown waits 5 s per stuck worker (>= 15 s here); ours shares one 1 s deadline.
    assert elapsed < 5.0
    assert loader._iterator is None


def test_torch_still_has_the_dataloader_internals_we_use():
    """Fails, naming them, when a torch release renames what close_dataloader_workers relies on."""
    loader = torch.utils.data.DataLoader(range(8), batch_size=2, num_workers=1, persistent_workers=True)
    next(iter(loader))
    try:
        assert missing_torch_internals(loader._iterator) == [], (
            f'torch {torch.__version__} renamed DataLoader internals; update mmmixer/engine/dataloader_shutdown.py'
        )
    finally:
        close_dataloader_workers([loader])


def test_an_iterator_without_those_internals_is_left_to_torch_with_a_warning():
    class Renamed:  # what a future torch's iterator could look like
        _workers = [object()]

    class Loader:
        _iterator = Renamed()

    with pytest.warns(RuntimeWarning, match='renamed DataLoader internals'):
        assert close_dataloader_workers([Loader()]) == 0
    assert set(missing_torch_internals(Renamed())) == set(TORCH_ITERATOR_INTERNALS) - {'_workers'}
