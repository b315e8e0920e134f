"""Stop dataloader worker processes promptly and explicitly when a run ends.

PyTorch stops a loader's workers one after another, waiting up to 5 s for each to leave before
terminating it. A worker that does not react (busy in a long transform, or stuck after being forked
from a process that holds CUDA) therefore costs 5 s; with 15 train and 15 val workers that is minutes
between a run's last log line and the end of the process. Here every worker of every loader is told
to stop at once, all of them share one deadline, and whoever is still alive then is terminated
(what PyTorch does too, only later).

DataLoader has no public way to do this, so :func:`close_dataloader_workers` uses the attributes of torch's
multi-process iterator named in :data:`TORCH_ITERATOR_INTERNALS`, and only those. Where a torch release has renamed
any of them, it does nothing but warn once (the workers then stop at torch's own pace, as without mmmixer), and
``tests/test_engine/test_dataloader_shutdown.py`` fails naming the missing attributes.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable

import torch
from torch.utils.data import DataLoader
from torch.utils.data._utils import signal_handling

# What this module reads or calls on torch's _MultiProcessingDataLoaderIter (and the loader's `_iterator`).
TORCH_ITERATOR_INTERNALS = (
    '_workers',
    '_workers_done_event',
    '_index_queues',
    '_worker_pids_set',
    '_shutdown_workers',
)


def missing_torch_internals(iterator) -> list[str]:
    """The attributes of :data:`TORCH_ITERATOR_INTERNALS` that ``iterator`` lacks (none on the torch we test)."""
    return [name for name in TORCH_ITERATOR_INTERNALS if not hasattr(iterator, name)]


def _live_iterator(loader):
    iterator = getattr(loader, '_iterator', None)  # only persistent workers keep an iterator on the loader
    if iterator is None or not getattr(iterator, '_workers', None):
        return None
    missing = missing_torch_internals(iterator)
    if missing:
        warnings.warn(
            f'torch {torch.__version__} renamed DataLoader internals ({", ".join(missing)}); its workers stop at '
            "torch's own pace",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    return iterator


def close_dataloader_workers(loaders: Iterable[DataLoader], timeout: float = 3.0) -> int:
    """Shut down the persistent workers of ``loaders`` within about ``timeout`` seconds in total.

    Returns the number of worker processes that had to be terminated. Loaders without live workers
    are skipped; a loader can be iterated again afterwards (it starts new workers).
    """
    loaders = [loader for loader in loaders if _live_iterator(loader) is not None]
    iterators = [_live_iterator(loader) for loader in loaders]
    for iterator in iterators:
        # The signal PyTorch's own shutdown sends, sent to every worker before waiting for any.
        iterator._workers_done_event.set()
        for index_queue in iterator._index_queues:
            index_queue.put(None)
    deadline = time.monotonic() + timeout
    terminated = 0
    for iterator in iterators:
        if iterator._worker_pids_set:  # from now on a worker's exit is expected, not an error to report
            signal_handling._remove_worker_pids(id(iterator))
            iterator._worker_pids_set = False
        for worker in iterator._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.is_alive():
                worker.terminate()
                worker.join()
                terminated += 1
    for loader, iterator in zip(loaders, iterators, strict=True):
        iterator._shutdown_workers()  # pin-memory thread and queues; the workers have already left
        loader._iterator = None
    return terminated


def runner_dataloaders(runner) -> list[DataLoader]:
    """The dataloaders of the loops a Runner has built (never building one just to close it)."""
    from mmengine.runner import BaseLoop

    loops = (getattr(runner, name, None) for name in ('_train_loop', '_val_loop', '_test_loop'))
    return [loop.dataloader for loop in loops if isinstance(loop, BaseLoop)]
