"""The models and training steps a benchmark times, built alike for every implementation."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from mmmixer.benchmark.settings import (
    AMP_DTYPE_NAMES,
    CHECKPOINTED,
    CONFIG_STEP,
    ONNX_RUNTIME,
    VARIANTS,
    Settings,
    variant_spec,
)
from mmmixer.config.find import own_config
from mmmixer.engine.fast_training import compile_in_place, use_amp, use_fused_optimizer
from mmmixer.models.builders import build_in_scope, build_timm_mixer, classifier_config
from mmmixer.models.logits import ClassifierLogits


def build_model(implementation: str, settings: Settings) -> nn.Module:
    """The same classifier (1000 classes) from each implementation; ``NAME+cp`` checkpoints activations."""
    spec = variant_spec(settings.variant)
    name, with_cp = implementation.removesuffix(CHECKPOINTED), implementation.endswith(CHECKPOINTED)
    if name == ONNX_RUNTIME:
        name = 'mmmixer'  # the model it runs; measure.py exports it
    if name == 'timm':
        model = build_timm_mixer(spec)
        model.set_grad_checkpointing(with_cp)
        return model
    config = classifier_config(spec)
    if name == 'mmpretrain':
        arch = spec.arch_name or spec.arch
        config['backbone'] = dict(type='MlpMixer', arch=arch, img_size=224, patch_size=spec.patch_size)
        config['neck'] = dict(type='GlobalAveragePooling', dim=1)  # its output is (B, C, N)
    else:
        config['backbone']['with_cp'] = with_cp
    return ClassifierLogits(build_in_scope(config))


def implementations_to_run(settings: Settings, mode: str) -> list[str]:
    names = [name for name in settings.implementations if mode == 'inference' or name != ONNX_RUNTIME]
    if settings.config_step and mode == 'train' and 'mmmixer' in names:
        names.insert(names.index('mmmixer') + 1, CONFIG_STEP)
    if settings.with_cp and mode == 'train':
        names += [name + CHECKPOINTED for name in settings.implementations if name in ('mmmixer', 'timm')]
    return names


def config_train_step(settings: Settings, device: torch.device) -> Callable[[], None]:
    """``model.train_step`` exactly as ``tools/train.py`` runs it, on one collated batch.

    The batch is what the configs' ``default_collate`` gives: one uint8 image tensor (pinned on
    CUDA, copied to the device inside the step) and fresh ``DataSample`` labels for every call.
    """
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.structures import DataSample

    arch, patch = VARIANTS[settings.variant]
    config_name = 'mixer-l16_in1k.py' if arch == 'l' else 'mixer-b16_in1k.py'
    cfg = Config.fromfile(own_config(config_name))
    cfg.model.backbone.update(arch=arch, patch_size=patch, img_size=settings.img_size)
    cfg.model.head.in_channels = variant_spec(settings.variant).embed_dims
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = build_in_scope(cfg.model)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')  # init_weights logs a line per parameter
    model.init_weights()
    logger.setLevel(level)
    model.to(device)
    if settings.compile:
        compile_in_place(model, {})

    optim_cfg = cfg.optim_wrapper.to_dict()
    if settings.dtype in AMP_DTYPE_NAMES:
        use_amp(optim_cfg, AMP_DTYPE_NAMES[settings.dtype], device.type)
    if settings.fused_adamw:
        use_fused_optimizer(optim_cfg, device.type)
    else:
        optim_cfg['optimizer']['foreach'] = True
    optim_wrapper = build_optim_wrapper(model, optim_cfg)

    images = torch.randint(0, 256, (settings.batch_size, 3, settings.img_size, settings.img_size), dtype=torch.uint8)
    if device.type == 'cuda':
        images = images.pin_memory()
    labels = torch.randint(0, 1000, (settings.batch_size,)).tolist()
    # One fresh set of labels per call, made beforehand (the dataloader workers make them in training).
    calls = settings.warmup + settings.repeats + 1  # + the untimed memory-peak step
    sample_sets = [[DataSample().set_gt_label(label) for label in labels] for _ in range(calls)]

    def step():
        samples = sample_sets.pop() if sample_sets else [DataSample().set_gt_label(label) for label in labels]
        model.train_step(dict(inputs=images, data_samples=samples), optim_wrapper)

    return step
