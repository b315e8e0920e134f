"""Classify one image and print the top-5 ImageNet classes.

python demo/image_demo.py IMAGE configs/mixer-b16_in1k.py CHECKPOINT [--device cpu]
"""

import argparse

from mmengine.config import DictAction

import mmmixer  # noqa: F401  (models and safe checkpoint loading)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('image', help='image file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument('--topk', type=int, default=5, help='how many classes to print')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings: key=value')
    args = parser.parse_args()

    from mmmixer.apis import classify_image

    for rank, (label, name, score) in enumerate(
        classify_image(args.image, args.config, args.checkpoint, args.device, args.topk, args.cfg_options), 1
    ):
        print(f'{rank}. {name} (class {label}): {score:.4f}')


if __name__ == '__main__':
    main()
