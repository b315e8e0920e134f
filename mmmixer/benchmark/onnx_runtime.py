"""The mmmixer classifier exported to ONNX and run by ONNX Runtime on the CPU: what deployment buys.

A benchmark row like the others (same model, same input, interleaved with them); inference only. Its peak
memory is ONNX Runtime's own allocator, which PyTorch's profiler does not see, so it is not reported.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

import torch
from torch import nn

from mmmixer.benchmark.settings import Settings


def onnxruntime_step(model: nn.Module, settings: Settings) -> Callable[[], None]:
    """Export ``model`` (images -> logits) at the benchmark's batch and size; one ONNX Runtime run per call."""
    import onnxruntime

    images = torch.randn(settings.batch_size, 3, settings.img_size, settings.img_size)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = settings.threads  # the same threads as torch gets
    options.inter_op_num_threads = 1
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'model.onnx')
        with torch.no_grad():
            torch.onnx.export(model.eval(), (images,), path, dynamo=True, verbose=False)
        session = onnxruntime.InferenceSession(path, options, providers=['CPUExecutionProvider'])
    feed = {session.get_inputs()[0].name: images.numpy()}
    return lambda: session.run(None, feed)
