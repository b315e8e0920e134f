"""``tools/train.py CONFIG``: train with mmengine's Runner, with mmpretrain's flags."""

from __future__ import annotations

import argparse

from mmengine.config import Config

from mmmixer.cli.common import (
    DATALOADERS,
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
from mmmixer.runtime.dataloader_shutdown import close_dataloader_workers, runner_dataloaders
from mmmixer.runtime.fast_training import AMP_DTYPES, default_amp_dtype, use_amp, use_fused_optimizer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or (no value) from the latest one in the work dir',
    )
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision training: bfloat16 without loss scaling where the device supports it, '
        'else float16 with a dynamic loss scaler (see --amp-dtype)',
    )
    parser.add_argument('--amp-dtype', choices=AMP_DTYPES, help='mixed precision dtype for --amp (default: auto)')
    parser.add_argument('--no-validate', action='store_true', help='do not validate during training')
    parser.add_argument(
        '--auto-scale-lr', action='store_true', help='scale the LR by actual batch / auto_scale_lr.base_batch_size'
    )
    parser.add_argument('--no-pin-memory', action='store_true', help='disable pin_memory in the dataloaders')
    parser.add_argument(
        '--no-persistent-workers', action='store_true', help='disable persistent_workers in the dataloaders'
    )
    add_common_arguments(parser)
    return parser


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line flags to the config (``--cfg-options`` after the other flags, so it wins)."""
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    if args.amp_dtype and not args.amp:
        usage_error('--amp-dtype only applies with --amp; add --amp')
    if args.amp:
        try:
            use_amp(cfg.optim_wrapper, args.amp_dtype or default_amp_dtype())
        except ValueError as error:
            usage_error(str(error))
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            usage_error('--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=...) in the config')
        cfg.auto_scale_lr.enable = True
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    use_fused_optimizer(cfg.optim_wrapper)
    for name in DATALOADERS:
        loader = cfg.get(name)
        if not loader:
            continue
        loader.setdefault('pin_memory', True)
        loader.setdefault('persistent_workers', True)
        if args.no_pin_memory:
            loader.pin_memory = False
        if args.no_persistent_workers:
            loader.persistent_workers = False
    drop_persistent_workers_without_workers(cfg)
    return cfg


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    set_local_rank(args)
    cfg = merge_args(load_config(args.config), args)
    check_datasets_exist(cfg, ('train_dataloader', 'val_dataloader'))
    prepare_runtime(cfg)
    runner = build_runner(cfg, args.compile)
    with reported_checkpoint_errors():  # load_from, --resume, init_cfg=Pretrained
        try:
            runner.train()
        finally:
            close_dataloader_workers(runner_dataloaders(runner))
