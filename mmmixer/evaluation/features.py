"""Frozen features for few-shot evaluation: a config's classifier with a checkpoint's backbone, and its pre-logits
(the pooled backbone output, what the head sees: big_vision's ``representation_layer='pre_logits'``,
configs/common_fewshot.py:23) for every image of a folder, through the config's test pipeline."""

from __future__ import annotations

import numpy as np
import torch
from mmengine.config import Config

from mmmixer.checkpoint import CheckpointError, load_checkpoint_safely
from mmmixer.checkpoint.fit import LOAD_ERROR, shape_problem

FEATURE_PARTS = ('backbone.', 'neck.')  # the head is not used: its classes may be anything


def load_feature_model(cfg: Config, checkpoint: str) -> torch.nn.Module:
    """``cfg.model`` in eval mode, with the backbone (and neck) weights of ``checkpoint``; its head is ignored."""
    from mmengine.registry import MODELS, init_default_scope

    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = MODELS.build(cfg.model)
    state = load_checkpoint_safely(checkpoint, map_location='cpu')
    state = state.get('state_dict', state) if isinstance(state, dict) else {}
    weights = {key: value for key, value in state.items() if key.startswith(FEATURE_PARTS)}
    if not any(key.startswith('backbone.') for key in weights):
        raise CheckpointError(
            f'{checkpoint} has no backbone weights (no key starts with backbone.); pass a checkpoint written by '
            'mmmixer train or by the converters (docs/converters.md)'
        )
    try:
        loaded = model.load_state_dict(weights, strict=False)
    except RuntimeError as error:  # torch reports weights of another shape this way, strict or not
        if LOAD_ERROR not in str(error):
            raise
        raise CheckpointError(
            f"{checkpoint} does not fit the config's backbone: {shape_problem(str(error))}; use the config the "
            'checkpoint was trained or converted for'
        ) from None
    missing = [key for key in loaded.missing_keys if key.startswith('backbone.')]
    if missing:
        raise CheckpointError(
            f"{checkpoint} does not fit the config's backbone: {len(missing)} of its weights are missing (e.g. "
            f'{missing[0]}); use the config the checkpoint was trained or converted for'
        )
    return model.eval()


def folder_loader(cfg: Config, root: str, batch_size: int, num_workers: int = 0):
    """A dataloader over the class folders at ``root`` with the config's test pipeline, in a fixed order."""
    from mmengine.runner import Runner

    from mmmixer.broken_images.scan import LOADER_TYPES

    # The checked loader in place of LoadImageFromFile: a broken image is one line naming it, not mmcv's traceback.
    pipeline = [
        dict(step, type='mmmixer.LoadImageChecked', data_set=root)
        if isinstance(step, dict) and step.get('type') in LOADER_TYPES
        else step
        for step in cfg.test_dataloader.dataset.pipeline
    ]
    return Runner.build_dataloader(
        dict(
            batch_size=batch_size,
            num_workers=num_workers,
            dataset=dict(type='CustomDataset', data_root=root, pipeline=pipeline),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
        )
    )


@torch.no_grad()
def extract_features(model: torch.nn.Module, loader, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(features (N, D) float32, labels (N,))`` of every image ``loader`` yields, in order."""
    from mmengine.utils import ProgressBar

    bar = ProgressBar(len(loader.dataset)) if progress else None
    features, labels = [], []
    for batch in loader:
        data = model.data_preprocessor(batch, False)
        features.append(model.extract_feat(data['inputs'], stage='pre_logits').float().cpu().numpy())
        labels += [int(sample.gt_label) for sample in data['data_samples']]
        if bar is not None:
            bar.update(len(data['data_samples']))
    if bar is not None:
        print(flush=True)  # the bar leaves its line open
    return np.concatenate(features), np.asarray(labels, dtype=np.int64)
