"""``tools/test.py CONFIG CHECKPOINT``: evaluate a checkpoint with mmengine's Runner."""

from __future__ import annotations

import argparse
import os
import os.path as osp
import re

from mmengine.config import Config

from mmmixer.cli.common import (
    add_common_arguments,
    build_runner,
    check_datasets_exist,
    default_work_dir,
    drop_persistent_workers_without_workers,
    load_config,
    prepare_runtime,
    reported_checkpoint_errors,
    set_local_rank,
    usage_error,
)
from mmmixer.fileio import write_json_atomically
from mmmixer.runtime.dataloader_shutdown import close_dataloader_workers, runner_dataloaders


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file or URL (http(s)://, torchvision://, open-mmlab:// ...)')
    parser.add_argument('--out', help='write the metrics (or predictions, see --out-item) to this file')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        default='metrics',
        help="what --out holds: 'metrics' (JSON) or 'pred' (pickled per-sample predictions)",
    )
    add_common_arguments(parser)
    return parser


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    cfg.load_from = args.checkpoint
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    drop_persistent_workers_without_workers(cfg)
    return cfg


def main(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    set_local_rank(args)
    is_url = re.match(r'[\w.+-]+://', args.checkpoint) is not None  # mmengine's loaders fetch these
    if not is_url and not osp.isfile(args.checkpoint):
        usage_error(f'checkpoint {args.checkpoint} does not exist')
    cfg = merge_args(load_config(args.config), args)
    check_datasets_exist(cfg, ('test_dataloader',))
    prepare_runtime(cfg)
    runner = build_runner(cfg, args.compile)
    if args.out and args.out_item == 'pred':
        from mmpretrain.evaluation import DumpResults

        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    with reported_checkpoint_errors():
        try:
            metrics = runner.test()
        finally:
            close_dataloader_workers(runner_dataloaders(runner))
    if runner.rank == 0:
        if args.out and args.out_item == 'metrics':
            os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
            write_json_atomically({k: float(v) for k, v in metrics.items()}, args.out)
        summary = ', '.join(f'{k}={float(v):.2f}' for k, v in metrics.items())
        print(f'Test results for {args.checkpoint}: {summary}')
    return metrics
