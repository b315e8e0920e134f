"""Draw a block's token-mixing units as image-grid filters.

python tools/visualizations/vis_token_mixing.py CHECKPOINT --out units.png [--block 0] [--units 64]
"""

import argparse

from mmmixer.visualization import draw_token_mixing


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='mmmixer/mmpretrain checkpoint (or timm weights)')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--block', type=int, default=0, help='block index (default 0)')
    parser.add_argument('--units', type=int, default=64, help='how many hidden units to draw (default 64)')
    args = parser.parse_args()
    try:
        path = draw_token_mixing(args.checkpoint, args.out, args.block, args.units)
    except (OSError, ValueError, RuntimeError) as error:
        raise SystemExit(f'vis_token_mixing: error: {error}') from None
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
