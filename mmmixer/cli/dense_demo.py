"""The fine-tuning demos (``make demo-det``, ``make demo-seg``): the ``make demo`` Mixer, fine-tuned for a dense task
on digit canvases, tested on the held-out canvases, and a picture of what it found.

The user's pretrain -> fine-tune path, each step the command a user would type (``python -m mmmixer ...``
in its own process, from the caller's directory): ``mmmixer demo`` if its checkpoint is missing, the
task's ``mmmixer prepare-*`` data step, ``mmmixer train`` with a config whose backbone loads that
checkpoint through ``init_cfg=dict(type='Pretrained', ...)``, then ``mmmixer test`` on the held-out
canvases. The picture is drawn in this process, with the task's own visualizer (mmdet's / mmseg's).
A :class:`DenseDemo` says what differs between the tasks."""

from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import time
from collections.abc import Callable
from dataclasses import dataclass

from mmmixer.cli.common import usage_error
from mmmixer.cli.demo import latest_checkpoint, run_step
from mmmixer.config.find import find_config, own_config

# The checkpoint the classification demo writes into its work dir (configs/mixer-demo_digits.py trains 15 epochs).
DEMO_CHECKPOINT = 'epoch_15.pth'
# Held-out canvases in the picture.
PICTURE_CANVASES = 6


@dataclass(frozen=True)
class DenseDemo:
    task: str  # 'detection' / 'segmentation', in messages
    default_config: str  # one of mmmixer's configs
    default_work_dir: str
    default_data_dir: str
    prepare_command: str  # the `mmmixer` command that writes the data
    data_overrides: Callable[[str], tuple[list[str], list[str]]]  # data dir -> (train, test) --cfg-options
    summary: Callable[[dict, str], str]  # (test metrics, program) -> the results line (or SystemExit)
    draw: Callable[[str, str, str, dict, str], str]  # (config, checkpoint, data dir, cfg options, out) -> out


def check_mixer_checkpoint(path: str, program: str) -> None:
    """Fail with one line unless ``path`` holds a model whose backbone is a Mixer.

    Checked before the data and training steps, so that a wrong file costs nothing (the backbone
    would also refuse it, when training starts).
    """
    from mmmixer.checkpoint import load_checkpoint_safely
    from mmmixer.models.utils.checkpoint_compat import backbone_key, missing_mixer_keys

    try:
        checkpoint = load_checkpoint_safely(path, map_location='cpu')
    except (RuntimeError, FileNotFoundError) as error:
        usage_error(str(error), program)
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}
    missing = missing_mixer_keys(backbone_key(key, 'backbone.') for key in state_dict)
    if missing:
        usage_error(
            f'{path} is not a Mixer classification checkpoint (no backbone.{missing[0]}); '
            'pass the checkpoint that `make demo` writes, or --from-scratch',
            program,
        )


def check_config_can_run(config: str, program: str) -> None:
    """One line, before the first step, when the config cannot run here (e.g. mmseg or mmcv's ops missing)."""
    from mmmixer.config.read import read_config
    from mmmixer.environment import check_compiled_ops
    from mmmixer.errors import InputError

    try:
        check_compiled_ops(read_config(config))
    except InputError as error:  # a config that does not parse, mmseg or mmcv's ops missing
        usage_error(str(error), program)


def parsed_cfg_options(options: list[str]) -> dict:
    """``key=value`` overrides as the dict that ``--cfg-options`` makes of them."""
    from mmmixer.config.options import parse_options

    return parse_options(options)


def build_parser(demo: DenseDemo, prog: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=f'Fine-tune the `make demo` Mixer for {demo.task} on digit canvases, test it, draw what it found',
    )
    parser.add_argument('--config', help=f'{demo.task} config (default: configs/{demo.default_config})')
    parser.add_argument('--work-dir', default=demo.default_work_dir, help=f'output (default {demo.default_work_dir})')
    parser.add_argument('--data-dir', default=demo.default_data_dir, help=f'canvases (default {demo.default_data_dir})')
    parser.add_argument(
        '--demo-dir',
        default='work_dirs/demo',
        help=f'work dir of the classification demo, whose {DEMO_CHECKPOINT} the backbone starts from; the demo '
        'runs there first if it is missing (default work_dirs/demo)',
    )
    parser.add_argument('--pretrained', help='another classification checkpoint for the backbone (instead)')
    parser.add_argument(
        '--num-train',
        type=int,
        default=1200,
        help='training canvases (default 1200; another number needs another --data-dir)',
    )
    parser.add_argument('--from-scratch', action='store_true', help='random backbone init instead (the comparison)')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='further config overrides, key=value')
    return parser


def run_dense_demo(demo: DenseDemo, argv: list[str] | None, prog: str | None) -> dict:
    """Run ``demo`` with the command-line arguments ``argv``; return the test metrics."""
    parser = build_parser(demo, prog)
    args = parser.parse_args(argv)
    program = parser.prog
    try:
        config = osp.abspath(find_config(args.config) if args.config else own_config(demo.default_config))
    except FileNotFoundError as error:
        usage_error(str(error), program)
    check_config_can_run(config, program)  # before anything is trained or written
    work_dir, data_dir = osp.abspath(args.work_dir), osp.abspath(args.data_dir)
    pretrained = osp.abspath(args.pretrained or osp.join(args.demo_dir, DEMO_CHECKPOINT))
    if args.pretrained and not args.from_scratch and not osp.isfile(pretrained):
        usage_error(f'checkpoint {args.pretrained} does not exist; run `mmmixer demo` or drop --pretrained', program)

    start = time.perf_counter()
    if not args.from_scratch:
        if not osp.isfile(pretrained):
            run_step('classification demo (pretraining)', ['demo', '--work-dir', args.demo_dir], program)
            if not osp.isfile(pretrained):
                usage_error(f'the classification demo wrote no {pretrained}', program)
        check_mixer_checkpoint(pretrained, program)
    run_step('prepare data', [demo.prepare_command, data_dir, '--num-train', str(args.num_train)], program)

    if args.from_scratch:
        model_overrides = ['model.backbone.init_cfg=None']
    else:
        model_overrides = [f'model.backbone.init_cfg.checkpoint={pretrained}']
    model_overrides += args.cfg_options
    # Training runs without validation (--no-validate): the held-out canvases are evaluated once, by `mmmixer test`.
    train_data, test_data = demo.data_overrides(data_dir)

    train_start = time.perf_counter()
    train_args = ['train', config, '--work-dir', work_dir, '--no-validate']
    run_step('train', [*train_args, '--cfg-options', *train_data, *model_overrides], program)
    train_seconds = time.perf_counter() - train_start
    checkpoint = latest_checkpoint(work_dir, program)
    metrics_file = osp.join(work_dir, 'test_metrics.json')
    test_args = ['test', config, checkpoint, '--work-dir', work_dir, '--out', metrics_file, '--force']  # its own file
    run_step('test', [*test_args, '--cfg-options', *test_data, *model_overrides], program)
    with open(metrics_file) as f:
        metrics = json.load(f)
    results = demo.summary(metrics, program)

    print(f'\n=== picture: image | truth | prediction on {PICTURE_CANVASES} held-out canvases', flush=True)
    cfg_options = parsed_cfg_options(model_overrides)
    picture = demo.draw(config, checkpoint, data_dir, cfg_options, osp.join(work_dir, f'{demo.task}_demo.png'))
    total_seconds = time.perf_counter() - start
    init = 'random init' if args.from_scratch else f'pretrained {osp.relpath(pretrained, os.getcwd())}'
    print(
        f'\n{demo.task.capitalize()} demo done in {total_seconds:.0f} s (training {train_seconds:.0f} s, {init}): '
        f'{results} on the held-out canvases; checkpoint {osp.relpath(checkpoint, os.getcwd())}, '
        f'picture {osp.relpath(picture, os.getcwd())}',
        flush=True,
    )
    return metrics
