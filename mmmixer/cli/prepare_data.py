"""``mmmixer prepare-digits OUT_DIR``, ``mmmixer prepare-digit-detection OUT_DIR`` and
``mmmixer prepare-digit-segmentation OUT_DIR`` (``tools/dataset_converters/prepare_*.py``): the demo datasets,
written by :mod:`mmmixer.dataset_writers`."""

from __future__ import annotations

import argparse

from mmmixer.cli.common import usage_error
from mmmixer.dataset_writers import prepare_digit_detection, prepare_digit_segmentation, prepare_digits


def _parser(prog: str | None, description: str, written: str, held_out: str) -> argparse.ArgumentParser:
    """The arguments both writers take: the output folder, the held-out fraction and the seed."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument('out_dir', help=f'output folder (created; reused if it already holds the same {written})')
    parser.add_argument('--force', action='store_true', help=f'replace a {written} made with other settings')
    parser.add_argument('--val-fraction', type=float, default=0.2, help=f'held-out {held_out} per class (default 0.2)')
    parser.add_argument('--seed', type=int, default=0, help=f'seed of the {written} (default 0)')
    return parser


def digits_main(argv: list[str] | None = None, prog: str | None = None) -> dict:
    parser = _parser(prog, "Write scikit-learn's digits as an ImageNet-style folder tree", 'split', 'fraction')
    parser.add_argument('--image-size', type=int, default=32, help='side of the written images (default 32)')
    args = parser.parse_args(argv)
    try:
        info = prepare_digits(args.out_dir, args.image_size, args.val_fraction, args.seed, force=args.force)
    except (FileExistsError, ValueError) as error:
        usage_error(str(error), parser.prog)
    print(f'digits: {info["num_train"]} train / {info["num_val"]} val images in {args.out_dir}')
    return info


def _canvases_parser(prog: str | None, description: str) -> argparse.ArgumentParser:
    """The arguments of the canvas sets (detection, segmentation): the same settings make the same canvases."""
    parser = _parser(prog, description, 'set', 'scans')
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
    return parser


def _write_canvases(writer, parser: argparse.ArgumentParser, argv: list[str] | None) -> tuple[argparse.Namespace, dict]:
    args = parser.parse_args(argv)
    try:
        info = writer(
            args.out_dir,
            force=args.force,
            num_train=args.num_train,
            num_val=args.num_val,
            canvas_size=args.canvas_size,
            digits_per_canvas=tuple(args.digits_per_canvas),
            digit_sizes=tuple(args.digit_sizes),
            val_fraction=args.val_fraction,
            seed=args.seed,
        )
    except (FileExistsError, ValueError) as error:
        usage_error(str(error), parser.prog)
    return args, info


def digit_detection_main(argv: list[str] | None = None, prog: str | None = None) -> dict:
    parser = _canvases_parser(prog, 'Write the digit detection set (COCO json, boxes + masks)')
    args, info = _write_canvases(prepare_digit_detection, parser, argv)
    print(
        f'digit detection: {info["num_train"]} train canvases ({info["num_train_instances"]} digits) / '
        f'{info["num_val"]} val canvases ({info["num_val_instances"]} digits) in {args.out_dir}'
    )
    return info


def digit_segmentation_main(argv: list[str] | None = None, prog: str | None = None) -> dict:
    parser = _canvases_parser(prog, 'Write the digit segmentation set (canvases + label maps, mmseg layout)')
    args, info = _write_canvases(prepare_digit_segmentation, parser, argv)
    stroke_share = 1 - info['val_pixels_per_class']['background'] / sum(info['val_pixels_per_class'].values())
    print(
        f'digit segmentation: {info["num_train"]} train / {info["num_val"]} val canvases in {args.out_dir} '
        f'({stroke_share:.1%} of the val pixels are digit strokes)'
    )
    return info
