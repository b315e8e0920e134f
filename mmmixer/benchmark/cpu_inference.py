"""CPU inference in each number format, side by side: ``mmmixer benchmark --device cpu --cpu-inference``.

Every path is an :class:`InferencePath`: a name, the number format its matrix products run in, and a ``build``
that turns the benchmark's fp32 classifier and example batch into a callable (images -> logits). mmmixer's paths
are :func:`mmmixer.apis.cpu_predictor`'s (fp32 eager, bf16 with weights converted once, bf16 compiled with
freezing); timm's are its own model (``mixer_b16_224`` for B/16) converted to bf16, eager and compiled the same way,
and under bf16 autocast. Other modules add paths of their own through ``extra_paths`` (``mmmixer benchmark
--cpu-inference`` adds :func:`mmmixer.benchmark.int8_rows.int8_paths`: int8, ONNX Runtime, OpenVINO).

All paths are built first (``first call s``: the build plus the first call, i.e. the compilation or calibration),
then timed interleaved (A B C A B C ...) with one matrix product per number format in the same rotation (2048^2:
sgemm, bf16 gemm, int8 gemm through ``torch._int_mm``), so that each row also says what fraction of its format's
matmul rate the model reaches. The median of the repeats is reported; peak memory is the profiler's (NaN for paths
that allocate outside PyTorch).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import torch
from torch import nn

from mmmixer.benchmark.measure import forward_flops_per_image, peak_memory_bytes
from mmmixer.benchmark.settings import variant_spec

MATMUL_SIZE = 2048
Predict = Callable[[torch.Tensor], object]


@dataclass
class InferencePath:
    """One way of running the classifier. ``build(classifier, images)`` gets the fp32 classifier (mmpretrain,
    random weights with a non-zero head, eval mode) and a batch of the benchmark's size, and returns the callable
    that is timed on that batch. ``dtype`` names the matmul rate the row is compared with (fp32, bf16, int8)."""

    name: str
    dtype: str
    build: Callable[[nn.Module, torch.Tensor], Predict]
    measures_memory: bool = True  # False: it allocates outside PyTorch (ONNX Runtime), the profiler cannot see it


@dataclass
class InferenceRow:
    path: str
    dtype: str
    batch_size: int
    images_per_second: float
    seconds_per_batch: list[float]
    first_call_seconds: float
    peak_memory_mb: float
    matmul_fraction: float


def _mmmixer_path(name: str, dtype: str, compile: bool = False) -> InferencePath:
    def build(classifier: nn.Module, images: torch.Tensor) -> Predict:
        from mmmixer.apis.cpu_predictor import cpu_predictor

        return cpu_predictor(classifier, dtype, compile=compile)

    return InferencePath(name, dtype, build)


def _timm_model(variant: str) -> nn.Module:
    """timm's registered model where the variant is one (``mixer_b16_224``), else its MlpMixer of the same dims."""
    import timm

    from mmmixer.models.builders import build_timm_mixer

    spec = variant_spec(variant)
    name = f'mixer_{spec.arch_name}{spec.patch_size}_224'
    if spec.arch_name and timm.is_model(name):
        model = timm.create_model(name, pretrained=False, num_classes=spec.num_classes)
    else:
        model = build_timm_mixer(spec)
    return model.eval().requires_grad_(False)


def _timm_path(name: str, variant: str, how: str) -> InferencePath:
    """timm's model in bf16: ``weights`` (converted once, eager), ``compiled`` (converted, torch.compile with
    freezing), ``autocast`` (fp32 weights, bf16 autocast)."""

    def build(classifier: nn.Module, images: torch.Tensor) -> Predict:
        model = _timm_model(variant)
        if how == 'autocast':

            def predict(batch):
                with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
                    return model(batch).float()

            return predict
        from torch._inductor import config as inductor_config

        model = model.to(torch.bfloat16)
        if how == 'compiled':
            model = torch.compile(model, dynamic=False)

        def predict(batch):
            # Inductor's freezing flag around the call, as cpu_predictor sets it (read when the first call compiles).
            with torch.no_grad(), inductor_config.patch(freezing=how == 'compiled'):
                return model(batch.to(torch.bfloat16)).float()

        return predict

    return InferencePath(name, 'bf16', build)


def default_paths(variant: str) -> list[InferencePath]:
    return [
        _mmmixer_path('mmmixer fp32 eager', 'fp32'),
        _mmmixer_path('mmmixer bf16 (weights)', 'bf16'),
        _mmmixer_path('mmmixer bf16 compiled (freezing)', 'bf16', compile=True),
        _timm_path('timm bf16 autocast', variant, 'autocast'),
        _timm_path('timm bf16 (weights)', variant, 'weights'),
        _timm_path('timm bf16 compiled (freezing)', variant, 'compiled'),
    ]


def _matmul_steps(size: int = MATMUL_SIZE) -> dict[str, tuple[Callable[[], object], float]]:
    """One size x size product per number format, and its FLOPs (multiply-adds x 2)."""
    flops = 2.0 * size**3
    steps = {}
    for dtype, torch_dtype in (('fp32', torch.float32), ('bf16', torch.bfloat16)):
        a, b = torch.randn(size, size, dtype=torch_dtype), torch.randn(size, size, dtype=torch_dtype)
        steps[dtype] = (lambda a=a, b=b: torch.mm(a, b), flops)
    a8 = torch.randint(-128, 128, (size, size), dtype=torch.int8)
    b8 = torch.randint(-128, 128, (size, size), dtype=torch.int8)
    steps['int8'] = (lambda: torch._int_mm(a8, b8), flops)  # int8 x int8 -> int32: oneDNN's int8 GEMM
    return steps


def benchmark_classifier(variant: str) -> nn.Module:
    """The mmmixer classifier of ``variant`` (1000 classes), random weights, a head that is not zero."""
    from mmmixer.models.builders import build_in_scope, classifier_config

    torch.manual_seed(0)
    classifier = build_in_scope(classifier_config(variant_spec(variant))).eval().requires_grad_(False)
    with torch.no_grad():
        classifier.head.fc.weight.normal_(0, 0.02)
    return classifier


def cpu_inference_benchmark(
    variant: str = 'b16',
    batch_sizes: Iterable[int] = (8, 1),
    threads: int = 2,
    warmup: int = 2,
    repeats: int = 5,
    extra_paths: Iterable[InferencePath] = (),
    log=print,
) -> dict:
    """Time every path at every batch size; a report with one :class:`InferenceRow` per path and batch."""
    torch.set_num_threads(threads)
    paths = [*default_paths(variant), *extra_paths]
    classifier = benchmark_classifier(variant)
    flops = forward_flops_per_image(variant)
    spec = variant_spec(variant)
    rows, rates = [], {}
    for batch_size in batch_sizes:
        images = torch.randn(batch_size, 3, *spec.img_size)
        steps, first_call = {}, {}
        for path in paths:
            start = time.perf_counter()
            predict = path.build(classifier, images)
            predict(images)
            first_call[path.name] = time.perf_counter() - start
            log(f'batch {batch_size}: {path.name} built and called once in {first_call[path.name]:.1f} s')
            steps[path.name] = lambda predict=predict, images=images: predict(images)
        matmuls = _matmul_steps()
        rotation = {**steps, **{f'matmul {dtype}': step for dtype, (step, _) in matmuls.items()}}
        for step in rotation.values():
            for _ in range(warmup):
                step()
        times = {name: [] for name in rotation}
        for _ in range(repeats):
            for name, step in rotation.items():  # interleaved, so that drift hits every path alike
                start = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - start)
        for dtype, (_, matmul_flops) in matmuls.items():
            rates.setdefault(dtype, []).append(matmul_flops / statistics.median(times[f'matmul {dtype}']))
        for path in paths:
            seconds = times[path.name]
            throughput = batch_size / statistics.median(seconds)
            peak = (
                peak_memory_bytes(steps[path.name], torch.device('cpu')) / 2**20
                if path.measures_memory
                else float('nan')
            )
            rate = statistics.median(rates[path.dtype])
            rows.append(
                InferenceRow(path.name, path.dtype, batch_size, throughput, seconds, first_call[path.name], peak,
                             throughput * flops / rate)
            )  # fmt: skip
    return dict(
        variant=variant,
        threads=threads,
        repeats=repeats,
        torch=torch.__version__,
        matmul_size=MATMUL_SIZE,
        matmul_gflops={dtype: statistics.median(values) / 1e9 for dtype, values in rates.items()},
        forward_gflop_per_image=flops / 1e9,
        rows=[asdict(row) for row in rows],
    )


def format_cpu_inference_table(report: dict) -> str:
    """Markdown: one row per path and batch; ``x timm best bf16`` divides by timm's fastest bf16 row of that batch."""
    lines = [
        '| path | batch | img/s | ms/batch | x timm best bf16 | % of its dtype matmul rate | first call s | peak MB |',
        '|---|---|---|---|---|---|---|---|',
    ]
    rows = report['rows']
    for row in rows:
        batch = row['batch_size']
        timm = [o['images_per_second'] for o in rows if o['path'].startswith('timm bf16') and o['batch_size'] == batch]
        timm_best = max(timm, default=None)
        ratio = f'{row["images_per_second"] / timm_best:.2f}' if timm_best else '-'
        lines.append(
            f'| {row["path"]} | {row["batch_size"]} | {row["images_per_second"]:.2f} | '
            f'{1e3 * statistics.median(row["seconds_per_batch"]):.1f} | {ratio} | '
            f'{100 * row["matmul_fraction"]:.0f}% | '
            f'{row["first_call_seconds"]:.1f} | {row["peak_memory_mb"]:.0f} |'
        )
    rates = ', '.join(f'{dtype} {gflops:.0f}' for dtype, gflops in report['matmul_gflops'].items())
    lines += ['', f'matmul rate ({report["matmul_size"]}^2, GFLOP/s, or GOP/s for int8): {rates}']
    return '\n'.join(lines)
