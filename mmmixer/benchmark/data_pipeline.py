"""Throughput of a config's data pipeline (the test one: decode + resize + crop; or the train one) in DataLoader
workers, per worker: how many workers keep a training step fed.

The images are distinct photo-like JPEGs (every file read once per pass, nothing decoded is reused): random colour
noise summed over octaves with a falling amplitude, like a photo's spectrum, so that they take a photo's bytes at
quality 90 (about 40 kB at 500 x 375, as scikit-image's photos cut to that size take 30-54 kB) and a photo's time to
decode. Flat or smooth synthetic images would decode faster and flatter the pipeline. Sizes cycle through ImageNet's
usual ones (most of its train images are 500 px on the long side).
"""

from __future__ import annotations

import math
import os
import time

import torch

# ImageNet's common train image sizes, (height, width): landscape 4:3 dominates.
PHOTO_SIZES = ((375, 500), (375, 500), (333, 500), (500, 375), (500, 500), (375, 500), (281, 500), (400, 500))
OCTAVES = 8
OCTAVE_DECAY = 0.65  # amplitude ratio of each finer octave: ~40 kB JPEGs at 500 x 375, quality 90


def _start_worker(_: int) -> None:
    """What mmengine's Runner sets before its workers start (env_cfg opencv_num_threads=0): one thread per worker."""
    import cv2

    cv2.setNumThreads(0)


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
        return self.pipeline(dict(img_path=self.paths[index], gt_label=0))['inputs']


def photo_like_image(rng, height: int, width: int):
    """An (H, W, 3) uint8 image with a photo's mix of coarse and fine detail (see the module's docstring)."""
    import cv2
    import numpy as np

    image = np.zeros((height, width, 3), np.float32)
    amplitude = 1.0
    for octave in range(OCTAVES - 1, -1, -1):
        noise = rng.standard_normal((max(2, height >> octave), max(2, width >> octave), 3)).astype(np.float32)
        colours = np.eye(3, dtype=np.float32) + 0.3 * rng.standard_normal((3, 3)).astype(np.float32)
        image += amplitude * cv2.resize(noise @ colours, (width, height), interpolation=cv2.INTER_CUBIC)
        amplitude *= OCTAVE_DECAY
    image = (image - image.mean()) * (50.0 / (image.std() + 1e-6)) + rng.uniform(80, 170)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_photo_like_jpegs(folder: str, count: int, seed: int = 0) -> list[str]:
    """``count`` distinct photo-like JPEGs (quality 90) of ImageNet's sizes in ``folder``; their paths."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    paths = []
    for index in range(count):
        height, width = PHOTO_SIZES[index % len(PHOTO_SIZES)]
        path = os.path.join(folder, f'{index:05d}.JPEG')
        Image.fromarray(photo_like_image(rng, height, width)).save(path, quality=90)
        paths.append(path)
    return paths


def pipeline_throughput(
    config: str,
    num_images: int = 256,
    workers: int = 2,
    split: str = 'test',
    distinct: int = 256,
    batch_size: int | None = None,
) -> float:
    """Images/s of a config's ``split`` pipeline ('test' or 'train') in ``workers`` DataLoader workers, all together.

    ``num_images`` samples are drawn from ``distinct`` different files, in order, as a sampler would, in batches of
    the config's loader (``batch_size`` unless given; at most a quarter of each worker's share, so that every worker
    delivers several). The clock starts once every worker has delivered its first batch (the workers' start-up is
    not throughput). Batch size matters: each batch costs a worker a shared-memory block and the main process a
    hand-over (with 2 workers on 2 cores, batches of 8 give about 0.9 of the rate of batches of 64).
    """
    import tempfile

    from mmengine.config import Config

    loader_cfg = Config.fromfile(config)[f'{split}_dataloader']
    pipeline = loader_cfg.dataset.pipeline
    batch_size = batch_size or loader_cfg.get('batch_size', 8)
    batch_size = max(1, min(batch_size, num_images // (4 * max(workers, 1))))
    with tempfile.TemporaryDirectory() as folder:
        paths = write_photo_like_jpegs(folder, min(distinct, num_images))
        dataset = _PipelineDataset([paths[i % len(paths)] for i in range(num_images)], pipeline)
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=batch_size, num_workers=workers, worker_init_fn=_start_worker
        )
        iterator = iter(loader)
        for _ in range(max(workers, 1)):  # each worker's first batch
            next(iterator)
        start = time.perf_counter()
        count = sum(len(batch) for batch in iterator)
        return count / (time.perf_counter() - start)


def workers_to_feed(step_images_per_second: float, images_per_second_per_worker: float) -> int:
    """DataLoader workers (one core each) that deliver at least a training step's images/s."""
    return math.ceil(step_images_per_second / images_per_second_per_worker)


def _op_name(op) -> str:
    return type(op).__name__ + (f':{op.kind}' if hasattr(op, 'kind') else '')


def pipeline_step_times(config: str, split: str = 'train', num_images: int = 128) -> dict[str, float]:
    """Milliseconds per image of each step of a config's ``split`` pipeline, in this process on one thread (as in a
    DataLoader worker), over ``num_images`` distinct photo-like JPEGs; for a ``RandAugment`` step also each of its
    ops (``'RandAugment/<op>'``), timed on the images that reach that step, so that the step is about two of them."""
    import tempfile

    import cv2
    from mmengine.config import Config
    from mmengine.registry import TRANSFORMS, init_default_scope

    cv2_threads, torch_threads = cv2.getNumThreads(), torch.get_num_threads()
    cv2.setNumThreads(0)
    torch.set_num_threads(1)
    init_default_scope('mmpretrain')
    steps = [
        (cfg['type'], TRANSFORMS.build(cfg)) for cfg in Config.fromfile(config)[f'{split}_dataloader'].dataset.pipeline
    ]
    totals = {name: 0.0 for name, _ in steps}
    inputs = {}  # the image each RandAugment step received, per step
    try:
        with tempfile.TemporaryDirectory() as folder:
            for path in write_photo_like_jpegs(folder, num_images):
                results = dict(img_path=path, gt_label=0)
                for name, step in steps:
                    if name == 'RandAugment':
                        inputs.setdefault(name, []).append(results['img'].copy())
                    start = time.perf_counter()
                    results = step(results)
                    totals[name] += time.perf_counter() - start
        times = {name: 1e3 * total / num_images for name, total in totals.items()}
        for name, step in steps:
            for op in getattr(step, 'transforms', []) if name == 'RandAugment' else []:
                start = time.perf_counter()
                for image in inputs[name]:
                    op(dict(img=image, img_shape=image.shape[:2]))  # the ops return new arrays
                times[f'{name}/{_op_name(op)}'] = 1e3 * (time.perf_counter() - start) / num_images
        return times
    finally:
        cv2.setNumThreads(cv2_threads)
        torch.set_num_threads(torch_threads)
