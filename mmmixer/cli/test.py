"""``mmmixer test CONFIG CHECKPOINT`` (``tools/test.py``): evaluate a checkpoint with mmengine's Runner."""

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
    common.add_common_arguments(parser)
    return parser


def apply_flags(cfg: Config, args: argparse.Namespace) -> None:
    cfg.load_from = args.checkpoint
    merge_options(cfg, args.cfg_options)
    use_data_root(cfg, args.data_root)


@reports_input_errors
def main(argv: list[str] | None = None, prog: str | None = None) -> dict:
    args = build_parser(prog).parse_args(argv)
    is_url = re.match(r'[\w.+-]+://', args.checkpoint) is not None  # mmengine's loaders fetch these
    if not is_url and not osp.isfile(args.checkpoint):
        check_checkpoint_path(args.checkpoint, 'checkpoint')  # a directory, or missing
    if args.out:
        check_new_output(args.out, args.force, '--out', folder_created=True)
    runner = common.runner_from_args(args, apply_flags, TEST_DATALOADERS)
    if args.out and args.out_item == 'pred':
        from mmpretrain.evaluation import DumpResults

        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    metrics = run_to_the_end(runner, runner.test)
    if runner.rank == 0:
        if args.out and args.out_item == 'metrics':
            os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
            write_json_atomically({k: float(v) for k, v in metrics.items()}, args.out)
        summary = ', '.join(f'{k}={float(v):.2f}' for k, v in metrics.items())
        print(f'Test results for {args.checkpoint}: {summary}')
    return metrics
