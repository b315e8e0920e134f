"""``make demo-det``: fine-tune the ``make demo`` Mixer as a detector on digit canvases, print COCO mAP.

The user's pretrain -> fine-tune path, each step the command a user would type (``python -m mmmixer ...``
in its own process, from the caller's directory): ``mmmixer demo`` if its checkpoint is missing,
``mmmixer prepare-digit-detection``, ``mmmixer train`` with a detection config whose backbone loads that
checkpoint through ``init_cfg=dict(type='Pretrained', ...)``, then ``mmmixer test`` on the held-out canvases.
"""

from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import time

from mmmixer.cli.common import usage_error
from mmmixer.cli.demo import latest_checkpoint, run_step
from mmmixer.packaged_configs import find_config, own_config

DEFAULT_CONFIG = 'detection/retinanet_mixer-demo_pyramid_digits.py'
# The checkpoint the classification demo writes into its work dir (configs/mixer-demo_digits.py trains 15 epochs).
DEMO_CHECKPOINT = 'epoch_15.pth'


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


def main(argv: list[str] | None = None, prog: str | None = None) -> dict:
    parser = argparse.ArgumentParser(
        prog=prog, description='Fine-tune the `make demo` Mixer as a detector on digit canvases, print COCO mAP'
    )
    parser.add_argument('--config', help=f'detection config (default: configs/{DEFAULT_CONFIG})')
    parser.add_argument('--work-dir', default='work_dirs/demo-det', help='output (default work_dirs/demo-det)')
    parser.add_argument('--data-dir', default='data/digit_detection', help='canvases (default data/digit_detection)')
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
    args = parser.parse_args(argv)
    program = parser.prog
    try:
        config = osp.abspath(find_config(args.config) if args.config else own_config(DEFAULT_CONFIG))
    except FileNotFoundError as error:
        usage_error(str(error), program)
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
    run_step(
        'prepare data',
        ['prepare-digit-detection', data_dir, '--num-train', str(args.num_train)],
        program,
    )

    if args.from_scratch:
        model_overrides = ['model.backbone.init_cfg=None']
    else:
        model_overrides = [f'model.backbone.init_cfg.checkpoint={pretrained}']
    model_overrides += args.cfg_options
    # Training runs without validation (--no-validate): the held-out canvases are evaluated once, by `mmmixer test`.
    train_data = [f'train_dataloader.dataset.data_root={data_dir}/']
    test_data = [
        f'test_dataloader.dataset.data_root={data_dir}/',
        f'test_evaluator.ann_file={data_dir}/annotations/instances_val.json',
    ]

    train_start = time.perf_counter()
    train_args = ['train', config, '--work-dir', work_dir, '--no-validate']
    run_step('train', [*train_args, '--cfg-options', *train_data, *model_overrides], program)
    train_seconds = time.perf_counter() - train_start
    checkpoint = latest_checkpoint(work_dir, program)
    metrics_file = osp.join(work_dir, 'test_metrics.json')
    test_args = ['test', config, checkpoint, '--work-dir', work_dir, '--out', metrics_file]
    run_step('test', [*test_args, '--cfg-options', *test_data, *model_overrides], program)
    with open(metrics_file) as f:
        metrics = json.load(f)
    if 'coco/bbox_mAP' not in metrics:  # mmdet's CocoMetric returns nothing when no box passed the score threshold
        raise SystemExit(
            f'{program}: error: the detector found no object on the held-out canvases, so there is no mAP; '
            'train longer (the default schedule reaches bbox mAP@0.5 0.82)'
        )
    total_seconds = time.perf_counter() - start
    init = 'random init' if args.from_scratch else f'pretrained {osp.relpath(pretrained, os.getcwd())}'
    results = f'bbox mAP@0.5 {metrics["coco/bbox_mAP_50"]:.3f}, mAP {metrics["coco/bbox_mAP"]:.3f}'
    if 'coco/segm_mAP' in metrics:
        results += f'; mask mAP@0.5 {metrics["coco/segm_mAP_50"]:.3f}, mAP {metrics["coco/segm_mAP"]:.3f}'
    print(
        f'\nDetection demo done in {total_seconds:.0f} s (training {train_seconds:.0f} s, {init}): {results} '
        f'on the held-out canvases; checkpoint {osp.relpath(checkpoint, os.getcwd())}',
        flush=True,
    )
    return metrics
