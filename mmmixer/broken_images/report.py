"""Counting the broken images a training run skipped (``skip_broken_images=True``), across workers and ranks."""

from __future__ import annotations

import atexit
import os
import tempfile

from mmengine.dist import all_gather_object, get_rank
from mmengine.hooks import Hook

from mmmixer.broken_images.loader import RECORD_ENV


class BrokenImageReport(Hook):
    """Logs each skipped image once, and at the end of every epoch how many distinct files were skipped.

    The loaders (:class:`~mmmixer.broken_images.loader.LoadImageChecked` with ``skip_broken=True``), in this
    process or in any DataLoader worker, append each file they skip to a record file that this hook creates
    and names in ``$MMMIXER_SKIPPED_IMAGES_FILE`` (set before the workers start, so they inherit it). The
    hook reads what is new after every iteration (a ``stat`` when nothing is) and, at the end of an epoch,
    gathers the files seen by every rank. The record file is removed when the run ends.

    ``find_all`` is the command that lists every broken file, for the log lines.
    """

    priority = 'LOW'

    def __init__(self, data_set: str = 'the training set', find_all: str = ''):
        self.data_set = data_set
        self.find_all = find_all
        fd, self.record = tempfile.mkstemp(prefix='mmmixer-skipped-images-', suffix='.tsv')
        os.close(fd)
        os.environ[RECORD_ENV] = self.record
        atexit.register(self.close)  # also when the run fails before after_run
        self._offset = 0
        self.skipped: dict[str, str] = {}  # path -> problem, this rank's, in the order first seen
        self.skips_this_epoch = 0

    def _read_new(self, runner) -> None:
        try:
            if os.path.getsize(self.record) == self._offset:
                return
            with open(self.record, 'rb') as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        complete = data[: data.rfind(b'\n') + 1]  # a worker may be half-way through a line
        self._offset += len(complete)
        for line in complete.decode('utf-8', 'replace').splitlines():
            path, _, problem = line.partition('\t')
            self.skips_this_epoch += 1
            if path not in self.skipped:
                self.skipped[path] = problem
                runner.logger.warning(f'skipping broken image {path} ({self.data_set}): {problem}')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._read_new(runner)

    def after_train_epoch(self, runner) -> None:
        self._read_new(runner)
        files, skips = set(), 0
        for rank_files, rank_skips in all_gather_object((sorted(self.skipped), self.skips_this_epoch)):
            files.update(rank_files)
            skips += rank_skips
        self.skips_this_epoch = 0
        if get_rank() != 0:
            return
        if files:
            how = f'; list them all with `{self.find_all}`' if self.find_all else ''
            runner.logger.warning(
                f'Epoch {runner.epoch + 1}: skipped {len(files)} broken image{"s" if len(files) != 1 else ""} '
                f'so far in {self.data_set} ({skips} skip{"s" if skips != 1 else ""} this epoch){how}'
            )
        else:
            runner.logger.info(f'Epoch {runner.epoch + 1}: skipped 0 broken images so far in {self.data_set}')

    def after_run(self, runner) -> None:
        self.close()

    def close(self) -> None:
        """Remove the record file (also when the run failed) and stop naming it to new workers."""
        if os.environ.get(RECORD_ENV) == self.record:
            del os.environ[RECORD_ENV]
        if os.path.exists(self.record):
            os.remove(self.record)
