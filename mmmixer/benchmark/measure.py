"""Timing (interleaved, median of repeats), peak memory and the device's matmul rate: :func:`run_benchmark`."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict

import torch
from torch import nn

from mmmixer.benchmark.models import build_model, config_train_step, implementations_to_run
from mmmixer.benchmark.onnx_runtime import onnxruntime_step
from mmmixer.benchmark.settings import CONFIG_STEP, DTYPES, ONNX_RUNTIME, Result, Settings, variant_spec


def peak_memory_bytes(step: Callable[[], None], device: torch.device) -> int:
    """Peak of the tensor memory that one call of ``step`` allocates beyond what was live before it.

    On CUDA this is the caching allocator's ``max_memory_allocated``. On CPU, where PyTorch keeps no
    such statistic, it is the largest running sum of the profiler's allocation and free events; the
    kernel's RSS would also count freed memory that malloc keeps, which depends on fragmentation.
    The profiled call is not one of the timed ones.
    """
    if device.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        step()
    events = [e for e in profiler.profiler.kineto_results.events() if e.name() == '[memory]']
    live = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        live += event.nbytes()
        peak = max(peak, live)
    return peak


def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize()


MATMUL = 'matmul'  # the device's reference rate, timed in the same rotation as the models


def matmul_size(device: torch.device) -> int:
    """Side of the reference product: 2048 reaches a CPU's peak; a GPU needs 8192 (2048^2 reaches only
    47-100 of an H100's ~790 bf16 TFLOP/s, which made models look faster than the device)."""
    return 2048 if device.type == 'cpu' else 8192


def matmul_step(device: torch.device, dtype: torch.dtype, size: int = 2048) -> tuple[Callable[[], None], float]:
    """One size x size matrix product (sgemm for fp32) and its FLOPs."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    return lambda: torch.mm(a, b), 2.0 * size**3


def forward_flops_per_image(variant: str) -> float:
    """Multiply-adds x 2 of one forward pass at 224 px (stem, blocks, head)."""
    spec = variant_spec(variant)
    n, c = spec.grid[0] * spec.grid[1], spec.embed_dims
    macs = n * c * 3 * spec.patch_size**2  # stem
    macs += spec.num_layers * (2 * n * spec.tokens_mlp_dims * c + 2 * n * spec.channels_mlp_dims * c)
    macs += c * spec.num_classes
    return 2.0 * macs


def _step_function(model: nn.Module, mode: str, settings: Settings, device: torch.device) -> Callable[[], None]:
    images = torch.randn(settings.batch_size, 3, settings.img_size, settings.img_size, device=device)
    if settings.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    dtype = DTYPES[settings.dtype]
    autocast = torch.autocast(device_type=device.type, dtype=dtype) if dtype != torch.float32 else nullcontext()
    if mode == 'inference':
        model.eval()

        def step():
            with torch.no_grad(), autocast:
                model(images)

        return step
    model.train()
    labels = torch.randint(0, 1000, (settings.batch_size,), device=device)
    # fused: one kernel per parameter, no model-sized temporaries (foreach AdamW's would dominate the peak).
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=settings.fused_adamw)

    def step():
        with autocast:
            loss = nn.functional.cross_entropy(model(images).float(), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def run_benchmark(settings: Settings, log=print) -> dict:
    torch.set_num_threads(settings.threads)
    device = torch.device(settings.device)
    dtype = DTYPES[settings.dtype]
    flops = forward_flops_per_image(settings.variant)
    log(f'forward {flops / 1e9:.2f} GFLOP/image')
    size = matmul_size(device)
    matmul, matmul_flops = matmul_step(device, dtype, size)

    results, rates = [], {}
    for mode in settings.modes:
        steps = {}
        for name in implementations_to_run(settings, mode):
            torch.manual_seed(0)
            if name == CONFIG_STEP:
                steps[name] = config_train_step(settings, device)
                continue
            model = build_model(name, settings).to(device)
            if name == ONNX_RUNTIME:
                if device.type != 'cpu' or dtype != torch.float32:
                    raise ValueError('the onnxruntime rows are for --device cpu --dtype fp32')
                steps[name] = onnxruntime_step(model, settings)
                continue
            if settings.channels_last:
                model = model.to(memory_format=torch.channels_last)
            if settings.compile:
                model = torch.compile(model)
            steps[name] = _step_function(model, mode, settings, device)
        steps[MATMUL] = matmul
        for step in steps.values():
            for _ in range(settings.warmup):
                step()
        times = {name: [] for name in steps}
        for _ in range(settings.repeats):
            for name, step in steps.items():  # interleaved: A B C A B C ..., so drift hits all alike
                _synchronize(device)
                start = time.perf_counter()
                step()
                _synchronize(device)
                times[name].append(time.perf_counter() - start)
        rate = rates[mode] = matmul_flops / statistics.median(times.pop(MATMUL))
        del steps[MATMUL]
        log(f'{mode}: matmul rate ({settings.dtype}, {size}^2) {rate / 1e9:.1f} GFLOP/s')
        # ONNX Runtime allocates outside PyTorch: its peak is not measured (NaN).
        peaks = {
            name: float('nan') if name == ONNX_RUNTIME else peak_memory_bytes(step, device) / 2**20
            for name, step in steps.items()
        }
        for name, seconds_per_batch in times.items():
            throughput = settings.batch_size / statistics.median(seconds_per_batch)
            work = flops * (3 if mode == 'train' else 1)  # backward ~ 2x forward
            results.append(
                Result(name, mode, throughput, seconds_per_batch, peaks[name], matmul_fraction=throughput * work / rate)
            )
        del steps
    return dict(
        settings={k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()},
        torch=torch.__version__,
        matmul_gflops={mode: rate / 1e9 for mode, rate in rates.items()},
        matmul_size=size,
        forward_gflop_per_image=flops / 1e9,
        results=[asdict(r) for r in results],
    )
