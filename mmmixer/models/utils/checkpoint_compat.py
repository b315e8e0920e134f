"""Loading other checkpoints into the backbone: mmpretrain's parameter names, token grids of another size.

Parameter names follow timm (``stem.proj``, ``blocks.{i}.mlp_tokens.fc1`` ...). State dicts with
mmpretrain's names (``patch_embed.projection``, ``layers.{i}.token_mix.layers.0.0`` ...) are renamed
when loaded (:func:`adapt_state_dict`, the backbone's load-time pre-hook), so mmpretrain's published
Mixer checkpoints load strictly.
"""

from __future__ import annotations

import math
import re

import torch
from mmengine.logging import MMLogger
from torch import nn

from mmmixer.checkpoint import CheckpointError
from mmmixer.models.utils.token_mixing_resize import resize_token_mixing, token_mixing_grid

# Keys (our names = timm's) that every Mixer has (also with final_norm=False) and no other model has together:
# token mixing is the Mixer's own.
MIXER_ANCHOR_KEYS = ('stem.proj.weight', 'blocks.0.mlp_tokens.fc1.weight', 'blocks.0.mlp_channels.fc1.weight')


def missing_mixer_keys(keys) -> list[str]:
    """The anchor keys that ``keys`` (our names, without prefix) lack: empty for a Mixer's weights."""
    keys = set(keys)
    return [key for key in MIXER_ANCHOR_KEYS if key not in keys]


class NotAMixerCheckpointError(CheckpointError):
    """The weights offered to the backbone belong to another model (a ResNet, a ViT ...)."""


# mmpretrain's parameter names -> ours (applied to keys after the module prefix).
_MMPRETRAIN_KEY_RENAMES = [
    (re.compile(r'^patch_embed\.projection\.'), 'stem.proj.'),
    (re.compile(r'^patch_embed\.norm\.'), 'stem.norm.'),
    (re.compile(r'^layers\.(\d+)\.ln1\.'), r'blocks.\1.norm1.'),
    (re.compile(r'^layers\.(\d+)\.ln2\.'), r'blocks.\1.norm2.'),
    (re.compile(r'^layers\.(\d+)\.token_mix\.layers\.0\.0\.'), r'blocks.\1.mlp_tokens.fc1.'),
    (re.compile(r'^layers\.(\d+)\.token_mix\.layers\.1\.'), r'blocks.\1.mlp_tokens.fc2.'),
    (re.compile(r'^layers\.(\d+)\.channel_mix\.layers\.0\.0\.'), r'blocks.\1.mlp_channels.fc1.'),
    (re.compile(r'^layers\.(\d+)\.channel_mix\.layers\.1\.'), r'blocks.\1.mlp_channels.fc2.'),
    (re.compile(r'^ln1\.'), 'norm.'),
]


def rename_mmpretrain_key(key: str) -> str:
    """Map one mmpretrain ``MlpMixer`` parameter name (without prefix) to ours; others pass through."""
    for pattern, replacement in _MMPRETRAIN_KEY_RENAMES:
        new_key, count = pattern.subn(replacement, key)
        if count:
            return new_key
    return key


def backbone_key(key: str, prefix: str) -> str | None:
    """Our name for ``key`` of a state dict that holds the backbone under ``prefix`` (``'backbone.'``,
    ``''`` ...), with mmpretrain's names renamed; None for a key outside ``prefix``."""
    if not key.startswith(prefix):
        return None
    return rename_mmpretrain_key(key[len(prefix) :])


def _check_is_mixer(incoming: list[str]) -> None:
    """Refuse backbone weights that are not a Mixer's (a ResNet, a ViT ...).

    mmengine's ``Pretrained`` init and ``load_from`` load with ``strict=False``: another backbone's
    checkpoint would only log a list of unexpected keys and leave a randomly initialised Mixer (or,
    for a ViT, whose norms share our names, a Mixer with a few of its weights).
    """
    missing = missing_mixer_keys(incoming)
    if incoming and missing:
        raise NotAMixerCheckpointError(
            f'the checkpoint loaded into MlpMixer holds no Mixer weights (no {", ".join(missing)} among its '
            f"{len(incoming)} backbone keys such as {', '.join(sorted(incoming)[:3])}): it is another model's. "
            'Use a Mixer checkpoint (mmmixer, mmpretrain, or timm/JAX converted with tools/model_converters/), '
            'or init_cfg=None to start from scratch'
        )


def adapt_state_dict(model: nn.Module, state_dict: dict[str, torch.Tensor], prefix: str) -> None:
    """Make ``state_dict`` fit ``model`` (an ``MlpMixer`` under ``prefix``), in place.

    mmpretrain's names are renamed. A checkpoint whose token-mixing MLPs were trained on another grid
    (e.g. 224 px weights for a 448 px model) is resized with :func:`resize_token_mixing`:
    ``'block_diagonal'`` when the model's token hidden width is K times the checkpoint's for a K times
    larger grid (the paper's fine-tuning init), ``'bilinear'`` when the widths are equal.
    """
    for key in list(state_dict):
        new_key = backbone_key(key, prefix)
        if new_key is not None and prefix + new_key != key:
            state_dict[prefix + new_key] = state_dict.pop(key)
    _check_is_mixer([key[len(prefix) :] for key in state_dict if key.startswith(prefix)])

    probe = f'{prefix}blocks.0.mlp_tokens.fc1.weight'
    own_shape = model.blocks[0].mlp_tokens.fc1.weight.shape
    if probe not in state_dict or state_dict[probe].shape == own_shape:
        return
    hidden, num_tokens = state_dict[probe].shape
    new_grid = model.patch_resolution
    if math.isqrt(num_tokens) ** 2 != num_tokens:
        raise ValueError(
            f"the checkpoint's token-mixing MLP ({probe[len(prefix) :]}) mixes {num_tokens} tokens, a grid "
            f'that is not square, so its height and width are unknown; this model mixes {own_shape[1]} tokens '
            f'(a {new_grid[0]}x{new_grid[1]} grid: img_size {model.img_size[0]}x{model.img_size[1]}, patch '
            f'{model.patch_size[0]}x{model.patch_size[1]}). Build the model with the img_size the checkpoint was '
            'trained at, or convert the weights first with mmmixer.models.resize_token_mixing(state_dict, '
            f'old_grid=(H, W), new_grid={new_grid}).'
        )
    old_grid = token_mixing_grid(num_tokens)
    growth = (new_grid[0] * new_grid[1]) // num_tokens
    if own_shape[0] == hidden:
        mode = 'bilinear'
    elif own_shape[0] == hidden * growth and new_grid[0] % old_grid[0] == 0 and new_grid[1] % old_grid[1] == 0:
        mode = 'block_diagonal'
    else:
        return  # incompatible widths: load_state_dict reports the size mismatch
    ours = {k: v for k, v in state_dict.items() if k.startswith(prefix)}
    state_dict.update(resize_token_mixing(ours, old_grid, new_grid, mode))
    MMLogger.get_current_instance().info(
        f'MlpMixer: resized the token-mixing weights from a {old_grid[0]}x{old_grid[1]} to a '
        f'{new_grid[0]}x{new_grid[1]} token grid ({mode})'
    )
