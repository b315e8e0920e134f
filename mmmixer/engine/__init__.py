"""How a config runs: the pipeline from a config to a finished run (:mod:`.runner`), the speed settings
(:mod:`.fast_training`), worker shutdown, and what configs name by type (``optim_wrapper=dict(type=
'mmmixer.AutocastOptimWrapper')``, ``constructor=...``, the atomic checkpoint hook, the collate function that names
mismatched image sizes), registered in mmmixer's registries.

The registered classes load on first use (the registries name their modules; ``from mmmixer.engine import X`` works
too), so that a command line imports no mmpretrain model before it has checked its input.
"""

import importlib

_EXPORTS = {
    'AtomicCheckpointHook': 'checkpoint_saving',
    'AutocastOptimWrapper': 'autocast_optim_wrapper',
    'MixerLayerDecayOptimWrapperConstructor': 'layer_decay',
    'default_collate': 'collate',
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'{__name__}.{_EXPORTS[name]}'), name)
