"""``make demo`` / ``mmmixer demo``: prepare the digits, train a small Mixer, evaluate it, print the accuracy.

Each step runs the command a user would type (``python -m mmmixer prepare-digits / train / test``) in
its own process, from the caller's directory, so the demo exercises exactly the user's path and works
from any directory once mmmixer is installed. Data and work dirs are relative to the caller's directory.
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

from mmmixer.cli.common import usage_error
from mmmixer.config.find import own_config

CONFIG = 'mixer-demo_digits.py'


def run_step(step: str, args: list[str], program: str) -> None:
    """``python -m mmmixer ARGS`` in a new process (its memory is released when it ends). A failing step
    ends ``program`` with one more line and the step's exit code (2 for bad input)."""
    print(f'\n=== {step}: mmmixer {" ".join(args)}', flush=True)
    result = subprocess.run([sys.executable, '-m', 'mmmixer', *args])
    if result.returncode != 0:
        print(f'{program}: error: step "{step}" failed (exit code {result.returncode}, see above)', file=sys.stderr)
        raise SystemExit(result.returncode)


def latest_checkpoint(work_dir: str, program: str) -> str:
    """The last checkpoint (``epoch_*.pth`` or ``iter_*.pth``) that training wrote into ``work_dir``."""
    checkpoints = glob.glob(osp.join(work_dir, 'epoch_*.pth')) + glob.glob(osp.join(work_dir, 'iter_*.pth'))
    if not checkpoints:
        raise SystemExit(f'{program}: training wrote no checkpoint into {work_dir}')
    return max(checkpoints, key=osp.getmtime)


def main(argv: list[str] | None = None, prog: str | None = None) -> float:
    parser = argparse.ArgumentParser(
        prog=prog, description='Prepare the digits, train a small Mixer, evaluate it, print the accuracy'
    )
    parser.add_argument('--work-dir', default='work_dirs/demo', help='logs and checkpoints (default work_dirs/demo)')
    parser.add_argument('--data-dir', default='data/digits', help='where the digits are written (default data/digits)')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], help='further overrides of the train and test config, key=value'
    )
    args = parser.parse_args(argv)
    program = parser.prog
    config = own_config(CONFIG)
    if not osp.isfile(config):  # an install built without its configs
        usage_error(f'{config} is missing: this mmmixer was installed without its configs; reinstall it', program)
    work_dir = osp.abspath(args.work_dir)
    data_dir = osp.abspath(args.data_dir)
    overrides = [
        f'{loader}.dataset.data_root={data_dir}' for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ] + args.cfg_options

    start = time.perf_counter()
    run_step('prepare data', ['prepare-digits', data_dir], program)
    run_step('train', ['train', config, '--work-dir', work_dir, '--cfg-options', *overrides], program)
    train_seconds = time.perf_counter() - start
    checkpoint = latest_checkpoint(work_dir, program)
    metrics_file = osp.join(work_dir, 'test_metrics.json')
    run_step(
        'test',
        [
            'test',
            config,
            checkpoint,
            '--work-dir',
            work_dir,
            '--out',
            metrics_file,
            '--force',
            '--cfg-options',
            *overrides,
        ],
        program,
    )
    with open(metrics_file) as f:
        top1 = json.load(f)['accuracy/top1']
    total_seconds = time.perf_counter() - start
    print(
        f'\nDemo done in {total_seconds:.0f} s (training {train_seconds:.0f} s): top-1 {top1:.2f}% on the held-out '
        f'digits; checkpoint {osp.relpath(checkpoint, os.getcwd())}'
    )
    return top1
