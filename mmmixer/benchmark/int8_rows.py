"""The int8 rows of the CPU inference benchmark (:mod:`mmmixer.benchmark.cpu_inference`): ours and the runtimes
it was chosen against, on the same classifier and batch.

* ``mmmixer int8``: :func:`mmmixer.deploy.int8.quantize_int8` (torchao PT2E, static, inductor with freezing);
* ``ONNX Runtime int8 dynamic``: ``quantize_dynamic`` (int8 weights, activations quantised at run time): the
  baseline the issue names;
* ``ONNX Runtime int8 static QDQ``: ``quantize_static`` (QDQ format, per-channel weights, MinMax calibration);
* ``OpenVINO int8 (NNCF)``: ``nncf.quantize`` of the same ONNX graph, compiled for the CPU; only where
  openvino and nncf are installed (they are not project dependencies).

Every row is calibrated on the same 32 random images (not the timed ones: the benchmark's weights are random, so
there is no data set to take them from). The ONNX graphs are exported with the backbone's ``fast_paths`` off, so
that each runtime quantises every Linear, the token-mixing ones included, as ours does.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

import torch
from torch import nn

from mmmixer.benchmark.cpu_inference import InferencePath
from mmmixer.deploy.int8 import token_linears_visible
from mmmixer.models.logits import logits_module

CALIBRATION_IMAGES = 32
CALIBRATION_SEED = 1


def calibration_images(images: torch.Tensor, count: int = CALIBRATION_IMAGES) -> torch.Tensor:
    """Random images of the timed batch's size, drawn apart from it."""
    return torch.randn(count, *images.shape[1:], generator=torch.Generator().manual_seed(CALIBRATION_SEED))


def _mmmixer_int8(classifier: nn.Module, images: torch.Tensor) -> Callable:
    from mmmixer.apis.cpu_predictor import cpu_predictor

    calibration = list(calibration_images(images).split(len(images)))
    return cpu_predictor(classifier, 'int8', example_inputs=images, calibration=calibration)


def export_fp32_onnx(classifier: nn.Module, images: torch.Tensor, path: str) -> None:
    """images -> logits with a dynamic batch, every Linear a MatMul on a constant weight."""
    batch = torch.export.Dim('batch', min=1, max=4096)
    example = images if len(images) > 1 else images.repeat(2, 1, 1, 1)  # a batch of 1 would be fixed
    model = logits_module(classifier)
    with torch.no_grad(), token_linears_visible(model):
        program = torch.onnx.export(
            model, (example,), dynamo=True, dynamic_shapes=({0: batch},), input_names=['images'], verbose=False
        )
    program.save(path)


def _onnxruntime_session(path: str):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()  # the same threads as torch gets
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def _run_session(session) -> Callable:
    name = session.get_inputs()[0].name
    return lambda batch: torch.from_numpy(session.run(None, {name: batch.numpy()})[0])


def _onnxruntime_int8(static: bool) -> Callable:
    def build(classifier: nn.Module, images: torch.Tensor) -> Callable:
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_dynamic,
            quantize_static,
        )

        class Batches(CalibrationDataReader):
            def __init__(self):
                self.batches = iter(calibration_images(images).split(8))

            def get_next(self):
                batch = next(self.batches, None)
                return None if batch is None else {'images': batch.numpy()}

        with tempfile.TemporaryDirectory() as folder:
            fp32, int8 = os.path.join(folder, 'fp32.onnx'), os.path.join(folder, 'int8.onnx')
            export_fp32_onnx(classifier, images, fp32)
            if static:
                quantize_static(
                    fp32, int8, Batches(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax,
                )  # fmt: skip
            else:
                quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8)
            return _run_session(_onnxruntime_session(int8))

    return build


def _openvino_int8(classifier: nn.Module, images: torch.Tensor) -> Callable:
    import nncf
    import openvino

    with tempfile.TemporaryDirectory() as folder:
        fp32 = os.path.join(folder, 'fp32.onnx')
        export_fp32_onnx(classifier, images, fp32)
        core = openvino.Core()
        model = core.read_model(fp32)
        dataset = nncf.Dataset([batch.numpy() for batch in calibration_images(images).split(8)])
        quantized = nncf.quantize(model, dataset, subset_size=CALIBRATION_IMAGES, model_type=nncf.ModelType.TRANSFORMER)
    threads = {'INFERENCE_NUM_THREADS': torch.get_num_threads(), 'NUM_STREAMS': 1, 'PERFORMANCE_HINT': 'LATENCY'}
    request = core.compile_model(quantized, 'CPU', threads).create_infer_request()
    return lambda batch: torch.from_numpy(request.infer({0: batch.numpy()})[0].copy())


def openvino_installed() -> bool:
    try:
        import nncf  # noqa: F401
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def int8_paths(
    variant: str = 'b16', with_onnxruntime: bool = True, with_openvino: bool | None = None
) -> list[InferencePath]:
    """The int8 rows for ``cpu_inference_benchmark(extra_paths=...)`` (the same for every ``variant``: each row
    quantises the classifier it is given): ours, ONNX Runtime's dynamic and static int8 (``with_onnxruntime``),
    OpenVINO + NNCF (``with_openvino``; by default where it is installed)."""
    paths = [InferencePath('mmmixer int8 (static, torchao PT2E)', 'int8', _mmmixer_int8)]
    if with_onnxruntime:
        paths += [
            InferencePath('ONNX Runtime int8 dynamic', 'int8', _onnxruntime_int8(static=False), measures_memory=False),
            InferencePath(
                'ONNX Runtime int8 static QDQ', 'int8', _onnxruntime_int8(static=True), measures_memory=False
            ),
        ]
    if with_openvino if with_openvino is not None else openvino_installed():
        paths.append(InferencePath('OpenVINO int8 (NNCF)', 'int8', _openvino_int8, measures_memory=False))
    return paths


def _matmul_rate(dtype: str, size: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s (GOP/s for int8) of one size x size product: bf16 ``mm``, or int8 ``torch._int_mm`` (oneDNN)."""
    import statistics
    import time

    if dtype == 'int8':
        a, b = (torch.randint(-128, 128, (size, size), dtype=torch.int8) for _ in range(2))
        step = lambda: torch._int_mm(a, b)  # noqa: E731
    else:
        a, b = (torch.randn(size, size, dtype=torch.bfloat16) for _ in range(2))
        step = lambda: torch.mm(a, b)  # noqa: E731
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 2.0 * size**3 / statistics.median(times) / 1e9


def measure(
    variant: str = 'b16', batch_sizes=(8, 1), repeats: int = 5, check_images: int = 64, others: bool = True, log=print
) -> list:
    """Each int8 row next to our bf16 (weights): img/s (median of ``repeats`` interleaved calls), first call
    (quantisation, calibration, compilation), peak memory (PyTorch rows), logits cosine and top-1 agreement with
    fp32 on ``check_images`` random images (at the first batch size). Rows as dicts."""
    import statistics
    import time

    from mmmixer.apis.cpu_predictor import cpu_predictor
    from mmmixer.benchmark.cpu_inference import benchmark_classifier
    from mmmixer.benchmark.measure import forward_flops_per_image, peak_memory_bytes
    from mmmixer.deploy.int8_export import compare_logits

    classifier = benchmark_classifier(variant)
    flops = forward_flops_per_image(variant)
    bf16 = InferencePath('mmmixer bf16 (weights)', 'bf16', lambda model, _: cpu_predictor(model, 'bf16'))
    paths = [bf16, *(int8_paths(variant) if others else int8_paths(variant, False, False))]
    rows = []
    for batch_size in batch_sizes:
        images = torch.randn(batch_size, 3, 224, 224, generator=torch.Generator().manual_seed(2))
        predictors, first_call = {}, {}
        for path in paths:
            start = time.perf_counter()
            predictors[path.name] = path.build(classifier, images)
            predictors[path.name](images)
            first_call[path.name] = time.perf_counter() - start
            log(f'batch {batch_size}: {path.name} ready in {first_call[path.name]:.1f} s')
        times = {name: [] for name in predictors}
        for _ in range(repeats):
            for name, predict in predictors.items():  # interleaved: drift hits every row alike
                start = time.perf_counter()
                predict(images)
                times[name].append(time.perf_counter() - start)
        rates = {dtype: _matmul_rate(dtype) for dtype in ('bf16', 'int8')}
        agreement = {}
        if batch_size == batch_sizes[0] and check_images:
            checked = torch.randn(check_images, 3, 224, 224, generator=torch.Generator().manual_seed(3))
            with torch.no_grad():
                reference = torch.cat([classifier(part, mode='tensor') for part in checked.split(batch_size)])
            for name, predict in predictors.items():
                ours = torch.cat([torch.as_tensor(predict(part)).float() for part in checked.split(batch_size)])
                agreement[name] = compare_logits(ours, reference)
        for path in paths:
            step = predictors[path.name]
            peak = (
                peak_memory_bytes(lambda step=step, images=images: step(images), torch.device('cpu')) / 2**20
                if path.measures_memory
                else None
            )
            throughput = batch_size / statistics.median(times[path.name])
            check = agreement.get(path.name)
            rows.append(
                dict(
                    path=path.name,
                    batch=batch_size,
                    images_per_second=throughput,
                    matmul_fraction=throughput * flops / (rates[path.dtype] * 1e9),
                    first_call_seconds=first_call[path.name],
                    peak_memory_mb=peak,
                    cosine=check.mean_cosine if check else None,
                    top1_agreement=check.top1_agreement if check else None,
                    matmul_rate=rates[path.dtype],
                )
            )
    return rows


def format_rows(rows: list) -> str:
    lines = [
        '| path | batch | img/s | x our bf16 | % of its matmul rate | first call s | peak MB | cosine / top-1 vs fp32 |'
        '',
        '|---|---|---|---|---|---|---|---|',
    ]
    for row in rows:
        bf16 = next(o for o in rows if o['batch'] == row['batch'] and o['path'].startswith('mmmixer bf16'))
        peak = f'{row["peak_memory_mb"]:.0f}' if row['peak_memory_mb'] is not None else '-'
        check = f'{row["cosine"]:.4f} / {row["top1_agreement"]:.0%}' if row['cosine'] is not None else '-'
        lines.append(
            f'| {row["path"]} | {row["batch"]} | {row["images_per_second"]:.1f} | '
            f'{row["images_per_second"] / bf16["images_per_second"]:.2f} | {100 * row["matmul_fraction"]:.0f}% | '
            f'{row["first_call_seconds"]:.1f} | {peak} | {check} |'
        )
    rates = sorted({(row['path'].startswith('mmmixer bf16'), row['matmul_rate']) for row in rows})
    lines.append('')
    lines.append('matmul rates (2048^2): ' + ', '.join(f'{"bf16" if bf else "int8"} {rate:.0f}' for bf, rate in rates))
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> None:
    """``python -m mmmixer.benchmark.int8_rows [--batch-sizes 8 1] [--threads 2]``: the int8 table."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument('--variant', default='b16')
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[8, 1])
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--check-images', type=int, default=64)
    parser.add_argument('--ours-only', action='store_true', help='our bf16 and int8 rows only')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(
        format_rows(measure(args.variant, tuple(args.batch_sizes), args.repeats, args.check_images, not args.ours_only))
    )


if __name__ == '__main__':
    main()
