"""Prove a conversion: the reference (timm) and the converted (mmmixer) model compute the same function."""

from __future__ import annotations

import torch

from mmmixer.converters.errors import ConversionError
from mmmixer.models.builders import build_mmmixer_classifier, build_timm_mixer
from mmmixer.models.spec import MixerSpec

VERIFY_TOLERANCE = 1e-5

# GELU variants (nn.GELU's `approximate`) as the verify messages name them.
GELU_NAMES = {'none': 'exact GELU', 'tanh': 'tanh-approximated GELU (the JAX models)'}


def verify(
    timm_state: dict[str, torch.Tensor],
    mm_state: dict[str, torch.Tensor],
    spec: MixerSpec,
    gelu_approximate: str = 'none',
    batch_size: int = 2,
) -> float:
    """Max |logits difference| of the reference (timm) and the converted (mmmixer) model on one random batch.

    Without a head the pooled features are compared instead. Raises above :data:`VERIFY_TOLERANCE`.
    """
    reference = build_timm_mixer(spec, gelu_approximate)
    reference.load_state_dict(timm_state, strict=True)
    converted = build_mmmixer_classifier(spec, gelu_approximate)
    converted.load_state_dict(mm_state, strict=True)
    images = torch.randn(batch_size, spec.in_channels, *spec.img_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = reference(images)
        actual = converted(images, mode='tensor')
        if isinstance(actual, tuple):  # no head: backbone + neck output
            actual = actual[-1]
    difference = (expected - actual).abs().max().item()
    if not difference <= VERIFY_TOLERANCE:
        raise ConversionError(
            f'verification failed: max |logits difference| {difference:.3g} > {VERIFY_TOLERANCE:g}; '
            'the converted weights do not compute the same function'
        )
    return difference
