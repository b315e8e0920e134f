"""Throughput and memory of Mixer implementations (mmmixer, timm, mmpretrain), measured fairly.

All implementations run the same arch, batch, dtype and thread count, interleaved (A B C A B C ...)
after a warm-up, and the median of the repeats is reported. A large matrix product (2048^2 on CPU,
8192^2 on GPUs, big enough to reach their peak) takes its turn in the same rotation, so the table also
says what fraction of the device's matmul rate each model reaches.

The training rows time a bare step (forward, cross-entropy, backward, fused AdamW) for each
implementation and, as ``mmmixer config-step``, the step `tools/train.py` runs: ``model.train_step``
of the classifier built from ``configs/mixer-b16_in1k.py`` (or L/16) with its data preprocessor
(uint8 batch -> normalised float), Mixup, soft-label loss and optimizer wrapper (gradient clipping,
mixed precision as ``--amp`` sets it, fused AdamW as ``tools/train.py`` sets it).

Modules: :mod:`.settings` (what is run: variants, implementations, dtypes; one result row),
:mod:`.models` (the models and training steps timed),
:mod:`.onnx_runtime` (the exported model in ONNX Runtime), :mod:`.measure` (timing, peak memory, the
device's matmul rate: :func:`run_benchmark`), :mod:`.report` (the Markdown table),
:mod:`.data_pipeline` and :mod:`.detection` (the eval pipeline's throughput, the backbone at
detection sizes).
"""

from .data_pipeline import pipeline_step_times, pipeline_throughput, workers_to_feed
from .detection import detection_backbone_cost
from .measure import forward_flops_per_image, peak_memory_bytes, run_benchmark
from .report import format_table
from .settings import IMPLEMENTATIONS, ONNX_RUNTIME, VARIANTS, Result, Settings

__all__ = [
    'IMPLEMENTATIONS',
    'ONNX_RUNTIME',
    'VARIANTS',
    'Result',
    'Settings',
    'detection_backbone_cost',
    'format_table',
    'forward_flops_per_image',
    'peak_memory_bytes',
    'pipeline_step_times',
    'pipeline_throughput',
    'run_benchmark',
    'workers_to_feed',
]
