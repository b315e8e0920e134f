"""Tiny Mixers for the model tests: the same code paths as B/16 at a size that runs in milliseconds."""

from mmengine.registry import init_default_scope

from mmmixer.models import MlpMixer
from tests.helpers import randomize_

TINY_ARCH = dict(embed_dims=32, num_layers=3, tokens_mlp_dims=16, channels_mlp_dims=64)


def tiny_mixer(**kwargs) -> MlpMixer:
    kwargs = {'arch': TINY_ARCH, 'img_size': 32, 'patch_size': 8, **kwargs}
    model = MlpMixer(**kwargs)
    model.init_weights()
    return randomize_(model)


def mmpretrain_classifier(backbone: dict, pool_dim: int = 1):
    """mmpretrain's ``ImageClassifier`` around ``backbone`` (10 classes, global average pooling over ``pool_dim``)."""
    from mmpretrain.registry import MODELS

    init_default_scope('mmpretrain')
    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=backbone,
            neck=dict(type='GlobalAveragePooling', dim=pool_dim),
            head=dict(type='LinearClsHead', num_classes=10, in_channels=TINY_ARCH['embed_dims']),
        )
    )
