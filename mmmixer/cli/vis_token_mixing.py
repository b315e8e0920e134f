"""``mmmixer vis-token-mixing CHECKPOINT --out units.png`` (``tools/visualizations/vis_token_mixing.py``).

Draws a block's token-mixing units as image-grid filters.
"""

from __future__ import annotations

import argparse

from mmmixer.cli.common import usage_error
from mmmixer.fileio import check_new_output
from mmmixer.visualization import draw_token_mixing


def main(argv: list[str] | None = None, prog: str | None = None) -> str:
    parser = argparse.ArgumentParser(prog=prog, description="Draw a block's token-mixing units as image-grid filters")
    parser.add_argument('checkpoint', help='mmmixer/mmpretrain checkpoint (or timm weights)')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--force', action='store_true', help='overwrite --out if it exists')
    parser.add_argument('--block', type=int, default=0, help='block index (default 0)')
    parser.add_argument('--units', type=int, default=64, help='how many hidden units to draw (default 64)')
    args = parser.parse_args(argv)
    try:
        check_new_output(args.out, args.force, '--out')
        path = draw_token_mixing(args.checkpoint, args.out, args.block, args.units)
    except (OSError, ValueError, RuntimeError) as error:
        usage_error(str(error), parser.prog)
    print(f'wrote {path}')
    return path
