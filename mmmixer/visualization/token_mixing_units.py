"""Draw the learned token-mixing units of a Mixer block as image-grid filters.

Each hidden unit of a token-mixing MLP's first layer has one weight per token; laid out on the token
grid it is a spatial filter (the paper's figure of learned token-mixing weights shows such units:
mostly local, often in opposite-sign pairs, growing less local in deeper blocks).
"""

from __future__ import annotations

import math
import os

import torch

from mmmixer.checkpoint import load_checkpoint_safely
from mmmixer.fileio import write_atomically
from mmmixer.models.utils import backbone_key


def token_mixing_units(state_dict: dict[str, torch.Tensor], block: int) -> torch.Tensor:
    """fc1 weights of block ``block`` as (units, grid_h, grid_w); any prefix or naming convention."""
    for key, value in state_dict.items():
        before, backbone, _ = key.partition('backbone.')  # the prefix is what comes up to 'backbone.', if anything
        name = backbone_key(key, prefix=before + backbone)
        if name == f'blocks.{block}.mlp_tokens.fc1.weight':
            side = math.isqrt(value.shape[1])
            return value.float().reshape(value.shape[0], side, value.shape[1] // side)
    blocks = sorted({k.split('.')[k.split('.').index('blocks') + 1] for k in state_dict if '.blocks.' in f'.{k}'})
    raise ValueError(f'no token-mixing weights for block {block} in the checkpoint (blocks present: {blocks})')


def draw_token_mixing(checkpoint: str, out: str, block: int = 0, num_units: int = 64, columns: int = 16) -> str:
    """Save a PNG with the first ``num_units`` token-mixing units of ``block``; returns its path."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    loaded = load_checkpoint_safely(checkpoint, map_location='cpu')
    state = loaded.get('state_dict', loaded) if isinstance(loaded, dict) else loaded
    units = token_mixing_units(state, block)[:num_units]
    rows = math.ceil(len(units) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 0.8, rows * 0.8 + 0.5), squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    for ax, unit in zip(axes.flat, units, strict=False):
        limit = unit.abs().max().item() or 1.0  # symmetric colour scale: sign is meaningful
        ax.imshow(unit.numpy(), cmap='RdBu_r', vmin=-limit, vmax=limit, interpolation='nearest')
    grid = f'{units.shape[1]}x{units.shape[2]}'
    figure.suptitle(f'{os.path.basename(checkpoint)}: token-mixing units of block {block} ({grid} token grid)')
    figure.tight_layout()
    try:
        # The temporary name has no .png ending for matplotlib to read the format from.
        return write_atomically(out, lambda tmp: figure.savefig(tmp, dpi=100, format='png'))
    finally:
        plt.close(figure)
