"""``mmmixer test CONFIG CHECKPOINT [--dtype fp32|bf16|int8|auto] [--calibration DIR]`` (``tools/test.py``): evaluate
a checkpoint with mmengine's Runner.

``--dtype`` other than fp32 (the default, the model as it is) evaluates the model as
:func:`mmmixer.apis.cpu_predictor` runs it on the CPU (:class:`mmmixer.engine.cpu_predictor_hook.CpuPredictorHook`);
with it, ``--compile`` compiles the predictor (torch.compile with freezing) instead of the Runner's modules. The log
and the last line say which ran.
"""

from __future__ import annotations

import argparse
import os
import os.path as osp
import re

from mmengine.config import Config

from mmmixer.cli import common
from mmmixer.cli.usage import reports_input_errors
from mmmixer.config.checks import check_checkpoint_path
from mmmixer.config.options import merge_options
from mmmixer.config.prepare import use_data_root
from mmmixer.engine.runner import TEST_DATALOADERS, run_to_the_end
from mmmixer.fileio import check_new_output, write_json_atomically


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = common.config_command_parser(prog, 'Evaluate a checkpoint', 'test config')
    parser.add_argument('checkpoint', help='checkpoint file or URL (http(s)://, torchvision://, open-mmlab:// ...)')
    parser.add_argument('--out', help='write the metrics (or predictions, see --out-item) to this file')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        default='metrics',
        help="what --out holds: 'metrics' (JSON) or 'pred' (pickled per-sample predictions)",
    )
    parser.add_argument('--force', action='store_true', help='overwrite --out if it exists')
    parser.add_argument(
        '--dtype',
        choices=['fp32', 'bf16', 'int8', 'auto'],
        default='fp32',
        help='evaluate with CPU inference in this number format: bf16 (weights converted once; needs a processor '
        'with bf16 instructions), int8 (static quantisation; needs --calibration), auto (bf16 where the processor '
        'has it, else fp32); default fp32, the model as it is',
    )
    parser.add_argument(
        '--calibration', metavar='DIR', help='--dtype int8: a folder of training images (never the test set)'
    )
    common.add_common_arguments(parser)
    return parser


def apply_flags(cfg: Config, args: argparse.Namespace) -> None:
    cfg.load_from = args.checkpoint
    merge_options(cfg, args.cfg_options)
    use_data_root(cfg, args.data_root)


def check_dtype_arguments(args: argparse.Namespace) -> None:
    """``mmmixer infer``'s checks of --dtype and --calibration, and CPU inference runs in one process."""
    from mmmixer.cli.infer import check_calibration_arguments

    check_calibration_arguments(args)
    if args.dtype != 'fp32' and args.launcher != 'none':
        common.usage_error(
            f'--dtype {args.dtype} is CPU inference in one process: leave out --launcher {args.launcher}'
        )


def use_cpu_predictor(runner, args: argparse.Namespace, compile: bool) -> None:
    """The test loop predicts with the model in ``--dtype`` (calibrated, for int8, on ``--calibration``'s images
    through the test pipeline, once the Runner has loaded the checkpoint)."""
    from mmmixer.engine.cpu_predictor_hook import CpuPredictorHook

    calibration = None
    if args.calibration is not None:
        from mmmixer.deploy.int8 import folder_batches

        def calibration(runner):
            return folder_batches(runner.model, args.calibration, runner.cfg)

    runner.register_hook(CpuPredictorHook(args.dtype, calibration, compile))


@reports_input_errors
def main(argv: list[str] | None = None, prog: str | None = None) -> dict:
    args = build_parser(prog).parse_args(argv)
    is_url = re.match(r'[\w.+-]+://', args.checkpoint) is not None  # mmengine's loaders fetch these
    if not is_url and not osp.isfile(args.checkpoint):
        check_checkpoint_path(args.checkpoint, 'checkpoint')  # a directory, or missing
    if args.out:
        check_new_output(args.out, args.force, '--out', folder_created=True)
    check_dtype_arguments(args)
    predictor_compile, args.compile = (args.compile, False) if args.dtype != 'fp32' else (False, args.compile)
    runner = common.runner_from_args(args, apply_flags, TEST_DATALOADERS)
    if args.dtype != 'fp32':
        use_cpu_predictor(runner, args, predictor_compile)
    if args.out and args.out_item == 'pred':
        from mmpretrain.evaluation import DumpResults

        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    metrics = run_to_the_end(runner, runner.test)
    if runner.rank == 0:
        if args.out and args.out_item == 'metrics':
            os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
            write_json_atomically({k: float(v) for k, v in metrics.items()}, args.out)
        summary = ', '.join(f'{k}={float(v):.2f}' for k, v in metrics.items())
        print(
            f'Test results for {args.checkpoint}: {summary}'
            + (f' (--dtype {args.dtype})' if args.dtype != 'fp32' else '')
        )
    return metrics
