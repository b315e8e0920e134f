"""What a benchmark run measures (:class:`Settings`) and one row of its result (:class:`Result`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from mmmixer.models.spec import MixerSpec, paper_spec

# name -> (arch, patch)
VARIANTS = {
    's32': ('s', 32),
    's16': ('s', 16),
    'b32': ('b', 32),
    'b16': ('b', 16),
    'l32': ('l', 32),
    'l16': ('l', 16),
    # Seconds-long smoke runs (CI): a tiny custom arch.
    'tiny': (dict(embed_dims=64, num_layers=2, tokens_mlp_dims=32, channels_mlp_dims=256), 16),
}
IMPLEMENTATIONS = ('mmmixer', 'timm', 'mmpretrain')
CHECKPOINTED = '+cp'  # suffix: the same model with activation checkpointing (mmmixer's with_cp, timm's)
CONFIG_STEP = 'mmmixer config-step'  # the training step of tools/train.py, built from a config
ONNX_RUNTIME = 'onnxruntime'  # the mmmixer classifier exported to ONNX, run by ONNX Runtime (inference, CPU)
DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}
AMP_DTYPE_NAMES = {'bf16': 'bfloat16', 'fp16': 'float16'}


@dataclass
class Settings:
    variant: str = 'b16'
    batch_size: int = 8
    img_size: int = 224
    device: str = 'cpu'
    dtype: str = 'fp32'
    threads: int = 2
    warmup: int = 2
    repeats: int = 5
    channels_last: bool = False
    compile: bool = False
    with_cp: bool = False  # also time mmmixer+cp and timm+cp in training
    config_step: bool = True  # also time `mmmixer config-step` in training
    fused_adamw: bool = True
    modes: tuple[str, ...] = ('inference', 'train')
    implementations: tuple[str, ...] = IMPLEMENTATIONS


@dataclass
class Result:
    implementation: str
    mode: str
    images_per_second: float
    seconds_per_batch: list[float]
    peak_memory_mb: float
    matmul_fraction: float | None = None
    extra: dict = field(default_factory=dict)


def variant_spec(variant: str) -> MixerSpec:
    """The 224 px, 1000-class Mixer a variant name stands for."""
    arch, patch = VARIANTS[variant]
    return paper_spec(arch, patch)
