"""``mmmixer test CONFIG CHECKPOINT`` (``tools/test.py``): evaluate a checkpoint with mmengine's Runner."""

from __future__ import annotations

import argparse
import os
import os.path as osp
import re

from mmengine.config import Config

from mmmixer.cli import common
from mmmixer.fileio import write_json_atomically


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
    common.add_common_arguments(parser)
    return parser


def apply_flags(cfg: Config, args: argparse.Namespace) -> None:
    cfg.load_from = args.checkpoint
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)


def main(argv: list[str] | None = None, prog: str | None = None) -> dict:
    args = build_parser(prog).parse_args(argv)
    is_url = re.match(r'[\w.+-]+://', args.checkpoint) is not None  # mmengine's loaders fetch these
    if not is_url and not osp.isfile(args.checkpoint):
        from mmmixer.cli.config_checks import check_checkpoint_path

        check_checkpoint_path(args.checkpoint, 'checkpoint')  # a directory, or missing: one line, exit 2
    runner = common.runner_from_args(args, apply_flags, ('test_dataloader',))
    if args.out and args.out_item == 'pred':
        from mmpretrain.evaluation import DumpResults

        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    metrics = common.run_to_the_end(runner, runner.test)
    if runner.rank == 0:
        if args.out and args.out_item == 'metrics':
            os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
            write_json_atomically({k: float(v) for k, v in metrics.items()}, args.out)
        summary = ', '.join(f'{k}={float(v):.2f}' for k, v in metrics.items())
        print(f'Test results for {args.checkpoint}: {summary}')
    return metrics
