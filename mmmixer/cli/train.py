"""``mmmixer train CONFIG`` (``tools/train.py``): train with mmengine's Runner, with mmpretrain's flags."""

from __future__ import annotations

import argparse

from mmengine.config import Config

from mmmixer.cli import common
from mmmixer.runtime.fast_training import AMP_DTYPES, default_amp_dtype, use_amp, use_fused_optimizer
from mmmixer.runtime.runner import use_fast_dataloaders


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


def apply_flags(cfg: Config, args: argparse.Namespace) -> None:
    """Apply the command-line flags to the config (``--cfg-options`` after the other flags, so it wins;
    ``--no-validate`` last, so that options for the validation it removes are not an error)."""
    if args.amp_dtype and not args.amp:
        common.usage_error('--amp-dtype only applies with --amp; add --amp')
    if args.amp:
        try:
            use_amp(cfg.optim_wrapper, args.amp_dtype or default_amp_dtype())
        except ValueError as error:
            common.usage_error(str(error))
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            common.usage_error('--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=...) in the config')
        cfg.auto_scale_lr.enable = True
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    use_fused_optimizer(cfg.optim_wrapper)
    use_fast_dataloaders(cfg, pin_memory=not args.no_pin_memory, persistent_workers=not args.no_persistent_workers)


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    args = build_parser(prog).parse_args(argv)
    runner = common.runner_from_args(args, apply_flags, ('train_dataloader', 'val_dataloader'))
    common.run_to_the_end(runner, runner.train)  # checkpoint errors: load_from, --resume, init_cfg=Pretrained
