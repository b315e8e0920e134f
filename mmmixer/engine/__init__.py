"""What configs name by type (``optim_wrapper=dict(type='mmmixer.AutocastOptimWrapper')``, ``constructor=...``):
optimizer wrappers and optimizer-wrapper constructors, registered in mmmixer's registry. How the command lines
run a config (AMP switches, fused optimizers, compile, worker shutdown) is :mod:`mmmixer.runtime`."""

from .autocast_optim_wrapper import AutocastOptimWrapper
from .layer_decay import MixerLayerDecayOptimWrapperConstructor

__all__ = ['AutocastOptimWrapper', 'MixerLayerDecayOptimWrapperConstructor']
