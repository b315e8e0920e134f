"""``mmmixer train CONFIG`` (``tools/train.py``): train with mmengine's Runner, with mmpretrain's flags."""

from __future__ import annotations

import argparse
import sys

from mmengine.config import Config

from mmmixer.cli import common
from mmmixer.cli.usage import reports_input_errors
from mmmixer.config.options import merge_options
from mmmixer.config.prepare import use_data_root, use_fast_dataloaders
from mmmixer.engine.checkpoint_saving import set_command
from mmmixer.engine.fast_training import (
    AMP_DTYPES,
    default_amp_dtype,
    default_device_type,
    use_amp,
    use_fused_optimizer,
)
from mmmixer.engine.runner import TRAIN_DATALOADERS, run_to_the_end


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = common.config_command_parser(prog, 'Train a model', 'train config')
    resume_help = 'resume from this checkpoint, or (no value) from the latest one in the work dir'
    parser.add_argument('--resume', nargs='?', type=str, const='auto', help=resume_help)
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
    common.add_common_arguments(parser)
    return parser


def apply_flags(cfg: Config, args: argparse.Namespace) -> list[str]:
    """Apply the command-line flags to the config (``--cfg-options`` after the other flags, so it wins;
    ``--no-validate`` last, so that options for the validation it removes are not an error).

    Returns what the command changes in the config for speed (and the precision ``--amp`` chose), for the log."""
    run_settings = []
    if args.amp_dtype and not args.amp:
        common.usage_error('--amp-dtype only applies with --amp; add --amp')
    if args.amp:
        dtype = args.amp_dtype or default_amp_dtype()
        try:
            use_amp(cfg.get('optim_wrapper') or {}, dtype)
        except ValueError as error:
            common.usage_error(str(error))
        why = 'as --amp-dtype asked' if args.amp_dtype else f'the {default_device_type()} default for --amp'
        run_settings.append(f'mixed precision in {dtype} ({why})')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            common.usage_error('--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=...) in the config')
        cfg.auto_scale_lr.enable = True
    merge_options(cfg, args.cfg_options)
    use_data_root(cfg, args.data_root)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if isinstance(cfg.get('optim_wrapper'), dict) and use_fused_optimizer(cfg.optim_wrapper):
        run_settings.append(f'fused {cfg.optim_wrapper.optimizer.type} kernel')
    run_settings += use_fast_dataloaders(
        cfg, pin_memory=not args.no_pin_memory, persistent_workers=not args.no_persistent_workers
    )
    return run_settings


@reports_input_errors
def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    args = build_parser(prog).parse_args(argv)
    run_settings = []  # what this command changes in the config for speed, said once in the log
    runner = common.runner_from_args(
        args, lambda cfg, args: run_settings.extend(apply_flags(cfg, args)), TRAIN_DATALOADERS
    )
    if args.compile:
        run_settings.append('--compile: torch.compile of the backbone, neck and head in place')
    runner.logger.info(
        "mmmixer train runs this config as mmpretrain's tools/train.py would, but with: "
        + ('; '.join(run_settings) or 'no changes')
        + " (the same numbers up to kernel order; --no-pin-memory, --no-persistent-workers and the config's "
        '`fused`/`foreach` turn them off)'
    )
    set_command(runner, ['mmmixer', 'train', *(sys.argv[1:] if argv is None else argv)])  # for a failed save
    run_to_the_end(runner, runner.train)
