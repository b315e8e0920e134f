"""What configs name by type (``optim_wrapper=dict(type='mmmixer.AutocastOptimWrapper')``, ``constructor=...``):
optimizer wrappers, optimizer-wrapper constructors, the checkpoint hook that writes atomically and the collate
function that names mismatched image sizes, registered in
mmmixer's registry. How the command lines run a config (AMP switches, fused optimizers, compile, worker shutdown)
is :mod:`mmmixer.engine.runner` and its neighbours."""

from .autocast_optim_wrapper import AutocastOptimWrapper
from .checkpoint_saving import AtomicCheckpointHook
from .collate import default_collate
from .layer_decay import MixerLayerDecayOptimWrapperConstructor

__all__ = ['AtomicCheckpointHook', 'AutocastOptimWrapper', 'MixerLayerDecayOptimWrapperConstructor', 'default_collate']
