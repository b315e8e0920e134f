from .autocast_optim_wrapper import AutocastOptimWrapper
from .layer_decay import MixerLayerDecayOptimWrapperConstructor

__all__ = ['AutocastOptimWrapper', 'MixerLayerDecayOptimWrapperConstructor']
