"""Read a Mixer's architecture (a :class:`MixerSpec`) off the shapes of its timm-named tensors."""

from __future__ import annotations

import re

import torch

from mmmixer.converters.errors import ConversionError, list_keys
from mmmixer.converters.names import check_is_mixer
from mmmixer.models.backbones.mlp_mixer import ARCH_ZOO
from mmmixer.models.spec import MixerSpec
from mmmixer.models.utils import token_mixing_grid


def infer_spec(state: dict[str, torch.Tensor]) -> MixerSpec:
    """Read the architecture off the tensor shapes; a clear error for anything that is not a Mixer."""
    check_is_mixer(state, state)
    stem = state['stem.proj.weight']
    tokens_fc1 = state['blocks.0.mlp_tokens.fc1.weight']
    try:
        grid = token_mixing_grid(tokens_fc1.shape[1])
    except ValueError as error:
        raise ConversionError(f'the token-mixing MLP does not fit a square token grid: {error}') from None
    blocks = {int(m.group(1)) for key in state if (m := re.match(r'blocks\.(\d+)\.', key))}
    spec = MixerSpec(
        embed_dims=stem.shape[0],
        num_layers=max(blocks) + 1,
        tokens_mlp_dims=tokens_fc1.shape[0],
        channels_mlp_dims=state['blocks.0.mlp_channels.fc1.weight'].shape[0],
        patch_size=stem.shape[-1],
        grid=grid,
        in_channels=stem.shape[1],
        num_classes=state['head.weight'].shape[0] if 'head.weight' in state else 0,
    )
    expected = spec.expected_shapes()
    missing, unexpected = set(expected) - set(state), set(state) - set(expected)
    if missing or unexpected:
        raise ConversionError(
            f'not a complete MLP-Mixer checkpoint: missing keys [{list_keys(missing)}], '
            f'unexpected keys [{list_keys(unexpected)}]'
        )
    for key, shape in expected.items():
        if tuple(state[key].shape) != shape:
            raise ConversionError(
                f'shape mismatch at {key}: {tuple(state[key].shape)} in the file, {shape} expected for '
                f'{spec.describe()}; the file is inconsistent or not a standard Mixer'
            )
    return spec


def check_arch(spec: MixerSpec, arch: str | None) -> None:
    """Refuse a ``--arch`` that is unknown or disagrees with the file."""
    if arch is None:
        return
    wanted = ARCH_ZOO.get(arch.lower())
    if wanted is None:
        raise ConversionError(f'--arch {arch!r} is unknown; choose one of {sorted(ARCH_ZOO)}')
    if wanted != spec.arch:
        raise ConversionError(f'--arch {arch} disagrees with the file, which holds {spec.describe()}; drop --arch')
