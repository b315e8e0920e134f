"""Layer-wise learning-rate decay for any model whose backbone is an ``MlpMixer`` (e.g. detectors).

mmpretrain's ``LearningRateDecayOptimWrapperConstructor`` asks the top-level model for
``get_layer_depth``, which classifiers have and mmdet detectors do not. This constructor falls back
to ``model.backbone.get_layer_depth``: stem -> depth 0, block i -> i + 1, everything else (neck,
heads) -> the last depth, so the decay ``layer_decay_rate ** (num_depths - 1 - depth)`` leaves the
new detection layers at the base learning rate.
"""

from functools import partial

from mmpretrain.engine.optimizers import LearningRateDecayOptimWrapperConstructor

from mmmixer.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MixerLayerDecayOptimWrapperConstructor(LearningRateDecayOptimWrapperConstructor):
    def add_params(self, params, module, prefix='', get_layer_depth=None, **kwargs):
        if get_layer_depth is None and not hasattr(module, 'get_layer_depth'):
            backbone = getattr(module, 'backbone', None)
            if backbone is None or not hasattr(backbone, 'get_layer_depth'):
                raise TypeError(
                    f'{type(module).__name__} has neither get_layer_depth nor a backbone with it; '
                    'layer-wise LR decay needs an MlpMixer (or another backbone with get_layer_depth)'
                )
            get_layer_depth = partial(backbone.get_layer_depth, prefix='backbone.')
        super().add_params(params, module, prefix=prefix, get_layer_depth=get_layer_depth, **kwargs)
