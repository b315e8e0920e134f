"""Image files in batches as a classifier takes them: decoded (:mod:`mmmixer.images`), through the config's test
pipeline (in DataLoader workers where asked), collated as mmpretrain's inferencer collates, and, for int8's
calibration, through the model's data preprocessor (:func:`preprocessed_batches`)."""

from __future__ import annotations

import os

import numpy as np
from mmengine.config import Config

from mmmixer.apis.image_files import decode_image
from mmmixer.apis.model_choice import loader_args

CALIBRATION_BATCH = 16  # images per int8 calibration batch (mmmixer.deploy.int8)


class ImageFiles:
    """Image files as the inferencer takes decoded images: decoded, then the test pipeline (in a worker)."""

    def __init__(self, paths: list[str], loader_args: dict, pipeline):
        self.paths = paths
        self.loader_args = loader_args
        self.pipeline = pipeline

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        image = decode_image(self.paths[index], self.loader_args)
        return image, self.pipeline(dict(img=image, img_shape=image.shape[:2], ori_shape=image.shape[:2]))


def preprocessed_batches(model, batches) -> list:
    """``(decoded images, collated batch)`` pairs as the model's ``mode='tensor'`` takes them (through its data
    preprocessor): int8's calibration input."""
    return [model.data_preprocessor(batch, False)['inputs'] for _, batch in batches]


def test_pipeline(config: Config):
    """The config's test pipeline as mmpretrain's inferencer builds it: for decoded images, so without the file
    loader (mmcv's, or the checked one a Runner's config has in its place)."""
    from mmcv.transforms import Compose
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import TRANSFORMS

    from mmmixer.broken_images.scan import LOADER_TYPES

    loaders = (*LOADER_TYPES, 'mmmixer.LoadImageChecked')
    steps = [step for step in config.test_dataloader.dataset.pipeline if step.get('type') not in loaders]
    with DefaultScope.overwrite_default_scope(config.get('default_scope', 'mmpretrain')):
        return Compose([TRANSFORMS.build(step) for step in steps])


def image_batches(paths: list[str], config: Config, batch_size: int, workers: int | None = None, pipeline=None):
    """A DataLoader of ``(decoded images, collated batch)`` over the files: decoded as the config's test loader
    decodes, through its test pipeline (``pipeline``: one built already), in ``workers`` processes (None: none for
    one batch, else up to 4, one per CPU)."""
    from torch.utils.data import DataLoader

    if workers is None:
        workers = 0 if len(paths) <= batch_size else min(4, os.cpu_count() or 1)
    files = ImageFiles(paths, loader_args(config), pipeline or test_pipeline(config))
    return DataLoader(files, batch_size=batch_size, num_workers=workers, collate_fn=collate_with_images)


def collate_with_images(items: list) -> tuple[list[np.ndarray], dict]:
    """The decoded images (kept for drawing), and the batch as mmpretrain's inferencer collates it."""
    from mmengine.dataset import default_collate

    return [image for image, _ in items], default_collate([packed for _, packed in items])
