from .layer_decay import MixerLayerDecayOptimWrapperConstructor

__all__ = ['MixerLayerDecayOptimWrapperConstructor']
