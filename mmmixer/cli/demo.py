"""``make demo``: prepare the digits, train a small Mixer, evaluate it, print the accuracy.

Each step runs the same command a user would type (tools/*.py in a subprocess), so the demo
exercises exactly the user's path: data preparation, ``tools/train.py``, ``tools/test.py``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'mixer-demo_digits.py')


def run_step(step: str, args: list[str]) -> None:
    print(f'\n=== {step}: {" ".join(args)}', flush=True)
    result = subprocess.run([sys.executable, *args], cwd=REPO)
    if result.returncode != 0:
        raise SystemExit(f'demo: step "{step}" failed with exit code {result.returncode} (see its output above)')


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--work-dir', default='work_dirs/demo', help='logs and checkpoints (default work_dirs/demo)')
    parser.add_argument('--data-dir', default='data/digits', help='where the digits are written (default data/digits)')
    args = parser.parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    data_dir = osp.abspath(args.data_dir)
    data_override = [
        f'{loader}.dataset.data_root={data_dir}' for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]

    start = time.perf_counter()
    run_step('prepare data', ['tools/dataset_converters/prepare_digits.py', data_dir])
    run_step('train', ['tools/train.py', CONFIG, '--work-dir', work_dir, '--cfg-options', *data_override])
    train_seconds = time.perf_counter() - start
    checkpoints = sorted(glob.glob(osp.join(work_dir, 'epoch_*.pth')), key=osp.getmtime)
    if not checkpoints:
        raise SystemExit(f'demo: training wrote no checkpoint into {work_dir}')
    checkpoint = checkpoints[-1]
    metrics_file = osp.join(work_dir, 'test_metrics.json')
    run_step(
        'test',
        ['tools/test.py', CONFIG, checkpoint, '--work-dir', work_dir, '--out', metrics_file]
        + ['--cfg-options', *data_override],
    )
    with open(metrics_file) as f:
        top1 = json.load(f)['accuracy/top1']
    total_seconds = time.perf_counter() - start
    print(
        f'\nDemo done in {total_seconds:.0f} s (training {train_seconds:.0f} s): top-1 {top1:.2f}% on the held-out '
        f'digits; checkpoint {osp.relpath(checkpoint, os.getcwd())}'
    )
    return top1
