"""State-dict names: timm's (which our backbone uses too) <-> an mmpretrain ``ImageClassifier``'s.

Every reader brings its file to timm's names first (``stem.proj.weight``, ``blocks.0.mlp_tokens.fc1.weight``,
``norm.weight``, ``head.weight`` ...); one mapping then serves every direction.
"""

from __future__ import annotations

import torch

from mmmixer.converters.errors import ConversionError, list_keys
from mmmixer.models.utils import backbone_key
from mmmixer.models.utils.checkpoint_compat import missing_mixer_keys


def check_is_mixer(timm_keys, file_keys) -> None:
    """Refuse weights without Mixer's anchor keys; the message lists keys as the file names them."""
    missing = missing_mixer_keys(timm_keys)
    if missing:
        raise ConversionError(
            f'not an MLP-Mixer checkpoint: missing keys {missing}; it has keys like {list_keys(file_keys)}. '
            'Pass the weights of a Mixer model (timm mixer_*, Google Mixer-*.npz or an mmmixer checkpoint).'
        )


def timm_to_mmmixer_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """timm names -> an mmpretrain ``ImageClassifier`` with our backbone and a ``LinearClsHead``."""
    return {(f'head.fc.{k[5:]}' if k.startswith('head.') else f'backbone.{k}'): v for k, v in state.items()}


def mmmixer_to_timm_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse; also takes mmpretrain's own Mixer names. Data-preprocessor buffers are dropped."""
    out, unexpected = {}, []
    for key, value in state.items():
        name = backbone_key(key, 'backbone.')
        if name is not None:
            out[name] = value
        elif key.startswith('head.fc.'):
            out[f'head.{key.removeprefix("head.fc.")}'] = value
        elif not key.startswith('data_preprocessor.'):
            unexpected.append(key)
    check_is_mixer(out, state)  # another model (an mmpretrain ViT ...) is named as such, not by its odd key
    if unexpected:
        raise ConversionError(
            f'unexpected key {unexpected[0]!r} in an mmmixer checkpoint (only backbone.* and head.fc.*: '
            'a Mixer with a LinearClsHead or without a head)'
        )
    return out
