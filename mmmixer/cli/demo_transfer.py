"""``make demo-transfer`` / ``mmmixer demo-transfer``: what pretraining buys, on the embedded digits.

The ``make demo`` Mixer (pretrained on upright digits; trained first if missing) against the same Mixer from random
initialisation, on upside-down digits with 1-25 labelled images per class: few-shot least squares on frozen
features and fine-tuning with the transfer protocol, several seeds each (:mod:`mmmixer.transfer.demo`). Ends with one
line and a plot (PNG); every number goes to a JSON file.
"""

from __future__ import annotations

import argparse
import os.path as osp
import time

import numpy as np

from mmmixer.cli.common import usage_error
from mmmixer.cli.demo import run_step
from mmmixer.cli.usage import reports_input_errors

DEMO_CHECKPOINT = 'epoch_15.pth'


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo-transfer', help='default work_dirs/demo-transfer')
    parser.add_argument(
        '--data-dir', default='data/digits', help='the digits (written if missing; default data/digits)'
    )
    parser.add_argument('--demo-dir', default='work_dirs/demo', help='where `make demo` put (or will put) its Mixer')
    parser.add_argument('--pretrained', help='the pretrained checkpoint (default: DEMO_DIR/epoch_15.pth)')
    parser.add_argument('--shots', type=int, nargs='+', default=[1, 5, 10, 25], help='default 1 5 10 25')
    parser.add_argument('--seeds', type=int, default=3, help='seeds per shot count (default 3)')
    parser.add_argument('--steps', type=int, default=100, help='fine-tuning steps per run (default 100)')
    parser.add_argument('--l2', type=float, default=1024.0, help='few-shot L2 regularisation (default 1024)')
    return parser


def summary_line(curves: dict, shots: int) -> str:
    def mean(method, init):
        return 100 * np.mean(curves[method][init][shots])

    return (
        f'{shots}-shot upside-down digits: few-shot {mean("few-shot", "pretrained"):.1f}% pretrained vs '
        f'{mean("few-shot", "random"):.1f}% random init; fine-tuned {mean("fine-tuned", "pretrained"):.1f}% vs '
        f'{mean("fine-tuned", "random"):.1f}%'
    )


@reports_input_errors
def main(argv: list[str] | None = None, prog: str | None = None) -> dict:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    program = parser.prog
    if min(args.shots) < 1 or args.seeds < 1 or args.steps < 1:
        usage_error(f'--shots {args.shots} --seeds {args.seeds} --steps {args.steps}: all at least 1', program)
    if max(args.shots) > 100:
        usage_error(
            f'--shots {max(args.shots)}: the digits have about 140 training images per class; ask for <= 100', program
        )
    work_dir, data_dir = osp.abspath(args.work_dir), osp.abspath(args.data_dir)
    pretrained = osp.abspath(args.pretrained or osp.join(args.demo_dir, DEMO_CHECKPOINT))
    if args.pretrained and not osp.isfile(pretrained):
        usage_error(f'checkpoint {args.pretrained} does not exist; run `mmmixer demo` or drop --pretrained', program)

    start = time.perf_counter()
    if not osp.isfile(pretrained):
        run_step('classification demo (pretraining)', ['demo', '--work-dir', args.demo_dir], program)
    run_step('prepare data', ['prepare-digits', data_dir], program)

    import mmmixer  # noqa: F401  (models, safe checkpoint loading)
    from mmmixer.fileio import write_json_atomically
    from mmmixer.transfer import demo

    target = demo.write_upside_down(data_dir, osp.join(work_dir, 'digits_upside_down'))
    print('\n=== few-shot (least squares on frozen features)', flush=True)
    curves = {'few-shot': demo.fewshot_curves(pretrained, target, args.shots, args.seeds, args.l2)}
    print(f'=== fine-tuning ({args.steps} steps per run, {2 * args.seeds * len(args.shots)} runs)', flush=True)
    curves['fine-tuned'] = demo.fine_tune_curves(pretrained, target, args.shots, args.seeds, args.steps, work_dir)
    for method, results in curves.items():
        for init, by_shots in results.items():
            cells = ', '.join(f'{k}: {100 * np.mean(v):.1f} ± {100 * np.std(v):.1f}' for k, v in by_shots.items())
            print(f'{method:>10} {init:>10}: {cells}')
    plot = demo.plot_curves(curves, osp.join(work_dir, 'transfer.png'))
    write_json_atomically(
        dict(pretrained=pretrained, steps=args.steps, l2_reg=args.l2, accuracy=curves),
        osp.join(work_dir, 'results.json'),
    )
    shots = 5 if 5 in args.shots else args.shots[0]
    print(f'\nDemo done in {time.perf_counter() - start:.0f} s. {summary_line(curves, shots)}. Plot: {plot}')
    return curves
