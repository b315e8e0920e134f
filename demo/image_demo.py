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
    from mmmixer.cli.common import load_config, reported_checkpoint_errors, usage_error
    from mmmixer.cli.config_checks import check_checkpoint_path, check_config_values, reported_bad_input
    from mmmixer.datasets import why_unreadable

    # Bad input is one line and exit code 2, before the model is built.
    problem = why_unreadable(args.image)
    if problem:
        usage_error(f'image {args.image} {problem}; give an image file (JPEG, PNG, ...)')
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    check_checkpoint_path(args.checkpoint, 'checkpoint')
    check_config_values(cfg)
    with reported_checkpoint_errors(), reported_bad_input():
        ranked = classify_image(args.image, cfg, args.checkpoint, args.device, args.topk)
    for rank, (label, name, score) in enumerate(ranked, 1):
        print(f'{rank}. {name} (class {label}): {score:.4f}')


if __name__ == '__main__':
    main()
