"""Small timm Mixers and their Google-layout .npz files, written independently of the converters."""

from pathlib import Path

import numpy as np
from timm.models.mlp_mixer import MlpMixer as TimmMlpMixer

from tests.helpers import randomize_


def tiny_timm(num_classes: int = 10) -> TimmMlpMixer:
    model = TimmMlpMixer(num_classes=num_classes, img_size=32, patch_size=8, num_blocks=2, embed_dim=16)
    # Large enough that activations reach GELU's non-linear range: exact and tanh GELU then differ.
    return randomize_(model, std=0.3).eval()


def google_npz(state: dict, path: Path) -> Path:
    """Write a timm state dict in vit_jax's exact npz layout (written out here, independently of the converter)."""
    arrays = {
        'stem/kernel': state['stem.proj.weight'].permute(2, 3, 1, 0).numpy(),  # OIHW -> HWIO
        'stem/bias': state['stem.proj.bias'].numpy(),
        'pre_head_layer_norm/scale': state['norm.weight'].numpy(),
        'pre_head_layer_norm/bias': state['norm.bias'].numpy(),
    }
    if 'head.weight' in state:
        arrays['head/kernel'] = state['head.weight'].T.numpy()
        arrays['head/bias'] = state['head.bias'].numpy()
    blocks = {int(k.split('.')[1]) for k in state if k.startswith('blocks.')}
    for i in blocks:
        for j in (0, 1):
            arrays[f'MixerBlock_{i}/LayerNorm_{j}/scale'] = state[f'blocks.{i}.norm{j + 1}.weight'].numpy()
            arrays[f'MixerBlock_{i}/LayerNorm_{j}/bias'] = state[f'blocks.{i}.norm{j + 1}.bias'].numpy()
            for google, ours in (('token_mixing', 'mlp_tokens'), ('channel_mixing', 'mlp_channels')):
                arrays[f'MixerBlock_{i}/{google}/Dense_{j}/kernel'] = state[
                    f'blocks.{i}.{ours}.fc{j + 1}.weight'
                ].T.numpy()
                arrays[f'MixerBlock_{i}/{google}/Dense_{j}/bias'] = state[f'blocks.{i}.{ours}.fc{j + 1}.bias'].numpy()
    np.savez(path, **{k: np.ascontiguousarray(v) for k, v in arrays.items()})
    return path


def quiet(*args, **kwargs):
    return None
