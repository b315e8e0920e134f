"""Write the digit detection set (COCO json, boxes + masks): ``prepare_digit_detection.py OUT_DIR``."""

import argparse
import sys

from mmmixer.dataset_writers import prepare_digit_detection


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('out_dir', help='output folder (created; reused if it already holds the same set)')
    parser.add_argument('--num-train', type=int, default=1200, help='training canvases (default 1200)')
    parser.add_argument('--num-val', type=int, default=200, help='held-out canvases (default 200)')
    parser.add_argument('--canvas-size', type=int, default=128, help='side of the canvases in pixels (default 128)')
    parser.add_argument(
        '--digits-per-canvas', type=int, nargs=2, default=(2, 5), metavar=('MIN', 'MAX'), help='(default 2 5)'
    )
    parser.add_argument(
        '--digit-sizes', type=int, nargs=2, default=(16, 48), metavar=('MIN', 'MAX'),
        help='side in pixels that a scan is upscaled to (default 16 48)',
    )  # fmt: skip
    parser.add_argument('--val-fraction', type=float, default=0.2, help='held-out scans per class (default 0.2)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the split and the canvases (default 0)')
    args = parser.parse_args()
    try:
        info = prepare_digit_detection(
            args.out_dir,
            num_train=args.num_train,
            num_val=args.num_val,
            canvas_size=args.canvas_size,
            digits_per_canvas=tuple(args.digits_per_canvas),
            digit_sizes=tuple(args.digit_sizes),
            val_fraction=args.val_fraction,
            seed=args.seed,
        )
    except (FileExistsError, ValueError) as error:
        print(f'prepare_digit_detection: {error}', file=sys.stderr)
        raise SystemExit(2) from None
    print(
        f'digit detection: {info["num_train"]} train canvases ({info["num_train_instances"]} digits) / '
        f'{info["num_val"]} val canvases ({info["num_val_instances"]} digits) in {args.out_dir}'
    )


if __name__ == '__main__':
    main()
