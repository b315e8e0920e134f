"""What a Mixer checkpoint's backbone is (width, depth, MLP widths, patch, pretraining grid), read from its weights,
so that a fine-tuning config builds the same backbone whatever the checkpoint (B/16, L/16, the demo's Mixer)."""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from mmmixer.checkpoint import load_checkpoint_safely
from mmmixer.models.utils.checkpoint_compat import NotAMixerCheckpointError, backbone_key, missing_mixer_keys

_BLOCK = re.compile(r'^blocks\.(\d+)\.')


class PretrainedMixer(NamedTuple):
    arch: dict  # embed_dims, num_layers, tokens_mlp_dims, channels_mlp_dims
    patch_size: int
    img_size: int  # the (square) resolution its token-mixing MLPs were trained at
    head_classes: int | None  # the classes of its head, None when it has none


def read_pretrained_mixer(path: str) -> PretrainedMixer:
    """The backbone settings of the Mixer checkpoint at ``path`` (an mmmixer/mmpretrain checkpoint, or a state dict
    with keys under ``backbone.``), loaded safely."""
    checkpoint = load_checkpoint_safely(path, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}
    weights = {}
    for key, value in state.items():
        name = backbone_key(key, 'backbone.')
        if name is not None:
            weights[name] = value
    missing = missing_mixer_keys(weights)
    if missing:
        raise NotAMixerCheckpointError(
            f'{path} holds no Mixer backbone under backbone. (no {", ".join(missing)}); pass a checkpoint written by '
            'mmmixer train or by the converters (docs/converters.md)'
        )
    stem = weights['stem.proj.weight']  # (embed_dims, channels, patch, patch)
    token_fc1 = weights['blocks.0.mlp_tokens.fc1.weight']  # (tokens_mlp_dims, tokens)
    grid = math.isqrt(token_fc1.shape[1])
    arch = dict(
        embed_dims=stem.shape[0],
        num_layers=1 + max(int(_BLOCK.match(key).group(1)) for key in weights if _BLOCK.match(key)),
        tokens_mlp_dims=token_fc1.shape[0],
        channels_mlp_dims=weights['blocks.0.mlp_channels.fc1.weight'].shape[0],
    )
    head = state.get('head.fc.weight')
    return PretrainedMixer(arch, stem.shape[-1], grid * stem.shape[-1], None if head is None else head.shape[0])
