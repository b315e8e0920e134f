"""``mmmixer finetune CHECKPOINT DIR``: fine-tune a pretrained Mixer on a folder of class sub-folders with big_vision's
transfer protocol (configs/finetune/mixer-b16_in1k-pre_custom.py, set up by :mod:`mmmixer.transfer`), then say how
to classify images with the result."""

from __future__ import annotations

import argparse
import glob
import os.path as osp

from mmmixer.cli import common, train
from mmmixer.cli.usage import reports_input_errors
from mmmixer.engine.runner import TRAIN_DATALOADERS, run_to_the_end
from mmmixer.errors import InputError

CUSTOM_CONFIG = 'finetune/mixer-b16_in1k-pre_custom.py'


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Fine-tune a pretrained Mixer on your own images (one sub-folder per class), big_vision's "
        'transfer protocol: SGD momentum 0.9, no weight decay, clipping at norm 1, warm-up then cosine.',
    )
    parser.add_argument('checkpoint', help='a Mixer checkpoint: converted (docs/converters.md) or from mmmixer train')
    parser.add_argument('data_dir', help='training images: DATA_DIR/<class>/<image>')
    parser.add_argument('--val', help='validation images, the same class sub-folders (default: no validation)')
    parser.add_argument('--steps', type=int, help='training steps (default: about 100 epochs at batch 512, see docs)')
    parser.add_argument('--img-size', type=int, default=384, help='training resolution (default 384, as big_vision)')
    parser.add_argument('--batch-size', type=int, default=64, help='images per step (default 64; lr scales with it)')
    parser.add_argument('--config', default=CUSTOM_CONFIG, help='the fine-tuning config (default: %(default)s)')
    parser.add_argument('--work-dir', help='logs and checkpoints (default work_dirs/finetune_<folder name>)')
    parser.add_argument('--amp', action='store_true', help='mixed precision training (see mmmixer train --amp)')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], help='further config overrides, key=value (applied last, they win)'
    )
    return parser


@reports_input_errors
def main(argv: list[str] | None = None, prog: str | None = None) -> str | None:
    args = build_parser(prog).parse_args(argv)
    for name in ('steps', 'img_size', 'batch_size'):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError(f'--{name.replace("_", "-")} {value} must be at least 1')
    work_dir = args.work_dir or osp.join('work_dirs', f'finetune_{osp.basename(osp.normpath(args.data_dir))}')
    overrides, schedule = prepare(args)
    train_argv = [args.config, '--work-dir', work_dir, '--auto-scale-lr']
    train_argv += (['--amp'] if args.amp else []) + ([] if args.val else ['--no-validate'])
    if args.cfg_options:
        train_argv += ['--cfg-options', *args.cfg_options]
    train_args = train.build_parser(prog).parse_args(train_argv)

    def edit(cfg, flags):
        cfg.merge_from_dict(overrides)  # before the command-line flags, so --cfg-options wins
        train.apply_flags(cfg, flags)

    print(
        f'{prog or "finetune"}: {overrides["model.head.num_classes"]} classes; {schedule.steps} steps of '
        f'{overrides["train_dataloader"]["batch_size"]} images, {schedule.warmup} of them warm-up',
        flush=True,
    )
    runner = common.runner_from_args(train_args, edit, TRAIN_DATALOADERS)
    run_to_the_end(runner, runner.train)
    checkpoints = glob.glob(osp.join(work_dir, 'iter_*.pth'))
    checkpoint = max(checkpoints, key=osp.getmtime) if checkpoints else None
    config = osp.join(work_dir, osp.basename(runner.cfg.filename))
    if checkpoint:
        print(f'\nFine-tuned: {checkpoint}\nClassify: mmmixer infer IMAGE --model {config} --pretrained {checkpoint}')
    return checkpoint


def prepare(args: argparse.Namespace):
    """The folders and the checkpoint, checked (an InputError for each problem), turned into config overrides."""
    from mmmixer.config.checks import check_checkpoint_path
    from mmmixer.transfer import check_same_classes, finetune_overrides, read_class_folders, read_pretrained_mixer

    check_checkpoint_path(args.checkpoint, 'checkpoint')
    folders = read_class_folders(args.data_dir, 'the training folder')
    val = read_class_folders(args.val, 'the --val folder') if args.val else None
    if val is not None:
        check_same_classes(folders, val, 'the --val folder')
    pretrained = read_pretrained_mixer(args.checkpoint)
    return finetune_overrides(args.checkpoint, pretrained, folders, val, args.img_size, args.batch_size, args.steps)
