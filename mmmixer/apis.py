"""High-level helpers on top of mmpretrain's inferencer."""

from __future__ import annotations

import copy

import numpy as np

import mmmixer  # noqa: F401  (models and safe checkpoint loading)


def classify_image(
    image: str, config, checkpoint: str, device: str = 'cpu', topk: int = 5, cfg_options: dict | None = None
):
    """Top-k ``(label, class name, score)`` of one image (``config``: a file or a ``Config``; ``cfg_options``
    are merged into it).

    Class names come from the checkpoint's ``dataset_meta``; a 1000-class model without them is
    given the ImageNet-1k names.
    """
    from mmengine.config import Config
    from mmpretrain.apis import ImageClassificationInferencer
    from mmpretrain.datasets.categories import IMAGENET_CATEGORIES

    cfg = copy.deepcopy(config) if isinstance(config, Config) else Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    inferencer = ImageClassificationInferencer(model=cfg, pretrained=checkpoint, device=device)
    scores = np.asarray(inferencer(image)[0]['pred_scores'])
    classes = inferencer.classes
    if not classes and len(scores) == len(IMAGENET_CATEGORIES):
        classes = IMAGENET_CATEGORIES
    top = np.argsort(-scores)[:topk]
    return [(int(i), classes[i] if classes else str(i), float(scores[i])) for i in top]
