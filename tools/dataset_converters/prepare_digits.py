"""Write scikit-learn's digits as an ImageNet-style folder tree: ``prepare_digits.py OUT_DIR``."""

import argparse

from mmmixer.dataset_writers import prepare_digits


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('out_dir', help='output folder (created; reused if it already holds the same split)')
    parser.add_argument('--image-size', type=int, default=32, help='side of the written images (default 32)')
    parser.add_argument('--val-fraction', type=float, default=0.2, help='held-out fraction per class (default 0.2)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the split (default 0)')
    args = parser.parse_args()
    try:
        info = prepare_digits(args.out_dir, args.image_size, args.val_fraction, args.seed)
    except FileExistsError as error:
        raise SystemExit(f'prepare_digits: {error}') from None
    print(f'digits: {info["num_train"]} train / {info["num_val"]} val images in {args.out_dir}')


if __name__ == '__main__':
    main()
