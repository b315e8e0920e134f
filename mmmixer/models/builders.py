"""Build whole Mixer models: an mmpretrain classifier from a config or a :class:`MixerSpec`, and timm's
``MlpMixer`` of the same spec (the reference the converters verify against and the benchmark times).

timm is imported only when its model is built (it is an optional dependency).
"""

from __future__ import annotations

from functools import partial

from torch import nn

from mmmixer.models.spec import MixerSpec


def build_in_scope(model_cfg: dict, scope: str = 'mmpretrain') -> nn.Module:
    """``MODELS.build(model_cfg)`` with ``scope`` as the default scope, as a Runner of such a config builds it."""
    from mmengine.registry import MODELS, init_default_scope

    init_default_scope(scope)
    return MODELS.build(model_cfg)


def classifier_config(spec: MixerSpec, gelu_approximate: str = 'none') -> dict:
    """The mmpretrain ``ImageClassifier`` config (our backbone, a ``LinearClsHead``) that fits ``spec``."""
    backbone = dict(
        type='mmmixer.MlpMixer',
        arch=spec.arch_name or spec.arch,
        img_size=spec.img_size,
        patch_size=spec.patch_size,
        in_channels=spec.in_channels,
        act_cfg=dict(type='GELU', approximate=gelu_approximate),
    )
    model = dict(type='ImageClassifier', backbone=backbone, neck=dict(type='GlobalAveragePooling', dim=1))
    if spec.num_classes:
        model['head'] = dict(type='LinearClsHead', num_classes=spec.num_classes, in_channels=spec.embed_dims)
    return model


def build_mmmixer_classifier(spec: MixerSpec, gelu_approximate: str = 'none') -> nn.Module:
    """The classifier of :func:`classifier_config`, in eval mode."""
    return build_in_scope(classifier_config(spec, gelu_approximate)).eval()


def build_timm_mixer(spec: MixerSpec, gelu_approximate: str = 'none') -> nn.Module:
    """timm's ``MlpMixer`` of ``spec`` (timm names, so the same state dict loads), in eval mode."""
    from timm.models.mlp_mixer import MlpMixer as TimmMlpMixer

    model = TimmMlpMixer(
        num_classes=spec.num_classes,
        img_size=spec.img_size,
        in_chans=spec.in_channels,
        patch_size=spec.patch_size,
        num_blocks=spec.num_layers,
        embed_dim=spec.embed_dims,
        mlp_ratio=spec.mlp_ratio,
        act_layer=partial(nn.GELU, approximate=gelu_approximate),
    )
    return model.eval()
