"""``mmmixer benchmark`` (``tools/analysis_tools/benchmark.py``): throughput and peak memory of mmmixer vs
timm vs mmpretrain Mixers (inference and training step).

Training also times `mmmixer config-step`: the step ``mmmixer train`` runs, built from the B/16 (L/16) config.

mmmixer benchmark --variant b16 --batch-size 8 --threads 2 [--json out.json]
mmmixer benchmark --variant b16 --batch-size 256 --device cuda --dtype bf16 [--compile]
mmmixer benchmark --smoke        # seconds-long check of the tool itself
mmmixer benchmark --device cpu --cpu-inference [--batch-size 8]   # fp32 / bf16 / int8 paths, batch 8 and 1
"""

from __future__ import annotations

import argparse

from mmmixer.benchmark import (
    IMPLEMENTATIONS,
    ONNX_RUNTIME,
    VARIANTS,
    Settings,
    detection_backbone_cost,
    format_table,
    pipeline_throughput,
    run_benchmark,
    workers_to_feed,
)
from mmmixer.benchmark.settings import CONFIG_STEP
from mmmixer.cli.common import usage_error
from mmmixer.config.find import own_config
from mmmixer.errors import OutputPathError
from mmmixer.fileio import check_new_output, write_json_atomically

PIPELINE_WORKERS = 2


def time_pipelines(report: dict, images: int) -> dict:
    """The B/16 config's train and eval pipelines in 2 DataLoader workers (img/s, all and per worker), and how many
    workers feed the training step just measured: the config-built step where there is one, else the fastest."""
    rates = {
        f'{split}_pipeline_images_per_second': pipeline_throughput(
            own_config('mixer-b16_in1k.py'), num_images=images, workers=PIPELINE_WORKERS, split=split, distinct=images
        )
        for split in ('train', 'test')
    }
    per_worker = rates['train_pipeline_images_per_second'] / PIPELINE_WORKERS
    steps = {r['implementation']: r['images_per_second'] for r in report['results'] if r['mode'] == 'train'}
    step = CONFIG_STEP if CONFIG_STEP in steps else max(steps, key=steps.get, default=None)
    feed = None
    if step is not None:
        feed = dict(step=step, step_images_per_second=steps[step], workers=workers_to_feed(steps[step], per_worker))
    return {**rates, 'train_pipeline_images_per_second_per_worker': per_worker, 'workers_to_feed_train_step': feed}


def main(argv: list[str] | None = None, prog: str | None = None) -> dict:
    parser = argparse.ArgumentParser(
        prog=prog, description='Throughput and peak memory of mmmixer vs timm vs mmpretrain Mixers'
    )
    parser.add_argument('--variant', default='b16', choices=sorted(VARIANTS))
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--dtype', default='fp32', choices=['fp32', 'bf16', 'fp16'], help='autocast dtype')
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads (same for every implementation)')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5, help='timed repeats per implementation (median reported)')
    parser.add_argument('--modes', nargs='+', default=['inference', 'train'], choices=['inference', 'train'])
    parser.add_argument(
        '--implementations',
        nargs='+',
        default=list(IMPLEMENTATIONS),
        choices=[*IMPLEMENTATIONS, ONNX_RUNTIME],
        help=f'{ONNX_RUNTIME}: the mmmixer classifier exported to ONNX (inference, CPU fp32; needs mmmixer[deploy])',
    )
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--compile', action='store_true', help='torch.compile every model')
    parser.add_argument(
        '--with-cp', action='store_true', help='also time training with activation checkpointing (mmmixer and timm)'
    )
    parser.add_argument(
        '--no-config-step', action='store_true', help='do not time the config-built training step (mmmixer config-step)'
    )
    parser.add_argument(
        '--foreach-adamw',
        action='store_true',
        help="training steps use torch's foreach AdamW (model-sized temporaries) instead of the fused one",
    )
    parser.add_argument(
        '--pipeline',
        action='store_true',
        help='also time the ImageNet train and eval pipelines (2 DataLoader workers) and say how many workers the '
        'training step needs',
    )
    parser.add_argument(
        '--detection-cost',
        action='store_true',
        help="also time the backbone at 1024x1024: token_mixing='window' vs a bilinear-resized global model",
    )
    parser.add_argument(
        '--cpu-inference',
        action='store_true',
        help='instead: CPU inference in each number format (mmmixer fp32/bf16/bf16 compiled, timm bf16, and the '
        'int8 paths), at --batch-size and 1 (mmmixer/benchmark/cpu_inference.py)',
    )
    parser.add_argument('--json', help='write the full report here')
    parser.add_argument('--force', action='store_true', help='overwrite --json if it exists')
    parser.add_argument('--smoke', action='store_true', help='tiny model, batch 2, one repeat: checks the tool')
    args = parser.parse_args(argv)
    if args.json:
        try:  # before minutes of measuring
            check_new_output(args.json, args.force, '--json')
        except OutputPathError as error:
            usage_error(str(error), parser.prog)

    if args.cpu_inference:
        return cpu_inference_table(args)
    settings = Settings(
        variant='tiny' if args.smoke else args.variant,
        batch_size=2 if args.smoke else args.batch_size,
        device=args.device,
        dtype=args.dtype,
        threads=args.threads,
        warmup=1 if args.smoke else args.warmup,
        repeats=1 if args.smoke else args.repeats,
        channels_last=args.channels_last,
        compile=args.compile,
        with_cp=args.with_cp,
        config_step=not args.no_config_step,
        fused_adamw=not args.foreach_adamw,
        modes=tuple(args.modes),
        implementations=tuple(args.implementations),
    )
    report = run_benchmark(settings)
    if args.pipeline:
        report.update(time_pipelines(report, images=16 if args.smoke else 512))
    if args.detection_cost:
        report['detection_cost'] = detection_backbone_cost(
            settings.variant, size=256 if args.smoke else 1024, repeats=1 if args.smoke else 3, threads=args.threads
        )
    print(format_table(report))
    if 'test_pipeline_images_per_second' in report:
        print(
            f'eval pipeline (decode + resize + crop, 2 workers): {report["test_pipeline_images_per_second"]:.1f} img/s'
        )
        print(
            'train pipeline (decode + inception crop + flip + RandAugment, 2 workers): '
            f'{report["train_pipeline_images_per_second"]:.1f} img/s, '
            f'{report["train_pipeline_images_per_second_per_worker"]:.1f} img/s per worker'
        )
        feed = report['workers_to_feed_train_step']
        if feed:
            print(
                f'workers to feed {feed["step"]} ({feed["step_images_per_second"]:.1f} img/s): '
                f'{feed["workers"]} = ceil({feed["step_images_per_second"]:.1f} / '
                f'{report["train_pipeline_images_per_second_per_worker"]:.1f})'
            )
    if 'detection_cost' in report:
        cost = report['detection_cost']
        times = ', '.join(f'{name} {seconds:.2f} s' for name, seconds in cost['forward_seconds'].items())
        print(f'backbone forward at {cost["size"]}x{cost["size"]}, batch 1: {times}')
    if args.json:
        write_json_atomically(report, args.json)
    return report


def _check_cpu_inference_installed() -> None:
    """One line before minutes of timing, rather than a traceback at the row that needs what is missing."""
    import importlib.util

    from mmmixer.apis.cpu_predictor import UnsupportedDtypeError, resolve_dtype
    from mmmixer.deploy.int8 import torchao_missing

    try:
        resolve_dtype('bf16')  # the bf16 rows need a processor with bf16 instructions
    except UnsupportedDtypeError as error:
        usage_error(str(error))
    absent = [name for name in ('timm', 'onnxruntime', 'onnxscript') if importlib.util.find_spec(name) is None]
    missing = torchao_missing() or (
        f"--cpu-inference needs {absent[0]} (the timm and ONNX Runtime rows); pip install 'mmmixer[tests]'"
        if absent
        else None
    )
    if missing:
        usage_error(missing)


def cpu_inference_table(args: argparse.Namespace) -> dict:
    from mmmixer.benchmark.cpu_inference import cpu_inference_benchmark, format_cpu_inference_table
    from mmmixer.benchmark.int8_rows import int8_paths

    if args.device != 'cpu':
        usage_error(f'--cpu-inference times CPU inference: pass --device cpu, not {args.device}')
    _check_cpu_inference_installed()
    variant = 'tiny' if args.smoke else args.variant
    batch_sizes = (2,) if args.smoke else tuple(dict.fromkeys((args.batch_size, 1)))
    report = cpu_inference_benchmark(
        variant,
        batch_sizes,
        threads=args.threads,
        warmup=1 if args.smoke else args.warmup,
        repeats=1 if args.smoke else args.repeats,
        extra_paths=int8_paths(variant),
    )
    print(format_cpu_inference_table(report))
    if args.json:
        write_json_atomically(report, args.json)
    return report
