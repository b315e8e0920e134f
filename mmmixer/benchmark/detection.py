"""The backbone at detection-sized inputs: windowed token mixing vs a bilinear-resized global model."""

from __future__ import annotations

import statistics
import time

import torch

from mmmixer.benchmark.settings import variant_spec
from mmmixer.models import MlpMixer, resize_token_mixing


def detection_backbone_cost(variant: str = 'b16', size: int = 1024, repeats: int = 3, threads: int = 2) -> dict:
    """Forward seconds of the backbone at ``size`` x ``size``: windowed vs a bilinear-resized global model.

    ``'window'`` keeps the 224 px token-mixing MLPs and tiles the input (padding it to whole windows);
    the global model gets token-mixing weights resized to the full grid with
    :func:`mmmixer.models.resize_token_mixing` (``mode='bilinear'``).
    """
    torch.set_num_threads(threads)
    spec = variant_spec(variant)
    arch = spec.arch_name or spec.arch
    windowed = MlpMixer(arch=arch, patch_size=spec.patch_size, token_mixing='window').eval()
    grid = (size // spec.patch_size, size // spec.patch_size)
    resized = resize_token_mixing(windowed.state_dict(), spec.grid, grid, mode='bilinear')
    global_model = MlpMixer(arch=arch, patch_size=spec.patch_size, img_size=size).eval()
    global_model.load_state_dict(resized)
    images = torch.randn(1, 3, size, size)
    seconds = {}
    with torch.no_grad():
        for name, model in (('window', windowed), ('bilinear_global', global_model)):
            model(images)  # warm-up
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                model(images)
                times.append(time.perf_counter() - start)
            seconds[name] = statistics.median(times)
    return dict(variant=variant, size=size, forward_seconds=seconds)
