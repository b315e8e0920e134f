"""Weight converters: timm / Google .npz -> mmmixer, mmmixer -> timm, with numerical verification."""

from .formats import ConversionError, source_format
from .mixer import (
    MixerSpec,
    classifier_config,
    infer_spec,
    mmmixer_to_timm_names,
    timm_to_mmmixer_names,
    to_mmmixer,
    to_timm,
    verify,
)

__all__ = [
    'ConversionError',
    'MixerSpec',
    'classifier_config',
    'infer_spec',
    'mmmixer_to_timm_names',
    'source_format',
    'timm_to_mmmixer_names',
    'to_mmmixer',
    'to_timm',
    'verify',
]
