"""Throughput of a config's data pipeline (the test one: decode + resize + crop; or the train one) in DataLoader
workers."""

from __future__ import annotations

import os
import time

import torch


class _PipelineDataset(torch.utils.data.Dataset):
    def __init__(self, paths: list[str], pipeline_cfg: list):
        self.paths, self.pipeline_cfg, self.pipeline = paths, pipeline_cfg, None

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        if self.pipeline is None:  # built in the worker process
            from mmengine.dataset import Compose
            from mmengine.registry import init_default_scope

            init_default_scope('mmpretrain')
            self.pipeline = Compose(self.pipeline_cfg)
        return self.pipeline(dict(img_path=self.paths[index]))['inputs']


def pipeline_throughput(
    config: str, num_images: int = 64, workers: int = 2, size=(375, 500), split: str = 'test'
) -> float:
    """Images/s of a config's ``split`` pipeline ('test' or 'train') on JPEGs of ImageNet's typical size."""
    import tempfile

    import numpy as np
    from mmengine.config import Config
    from PIL import Image

    pipeline = Config.fromfile(config)[f'{split}_dataloader'].dataset.pipeline
    with tempfile.TemporaryDirectory() as folder:
        rng = np.random.default_rng(0)
        paths = []
        for i in range(8):  # a few distinct files, read repeatedly
            path = os.path.join(folder, f'{i}.JPEG')
            # Smooth content compresses like a photo; pure noise would make decoding unrealistically slow.
            base = rng.integers(0, 256, (size[0] // 25, size[1] // 25, 3), dtype=np.uint8)
            Image.fromarray(base).resize(size[::-1], Image.BICUBIC).save(path, quality=90)
            paths.append(path)
        dataset = _PipelineDataset([paths[i % 8] for i in range(num_images)], pipeline)
        loader = torch.utils.data.DataLoader(dataset, batch_size=8, num_workers=workers, collate_fn=list)
        iterator = iter(loader)
        next(iterator)  # start-up of the workers is not throughput
        start = time.perf_counter()
        count = sum(len(batch) for batch in iterator)
        return count / (time.perf_counter() - start)
