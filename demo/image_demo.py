"""Classify one image (any size and mode) and print the top-5 classes: argument parsing and printing over
:func:`mmmixer.apis.classify_images`, as ``mmmixer infer`` is.

python demo/image_demo.py IMAGE configs/mixer-b16_in1k.py CHECKPOINT [--device cpu] [--topk 5] [--cfg-options ...]
    [--dtype fp32|bf16|int8|auto] [--calibration DIR]
"""

import argparse

import mmmixer  # noqa: F401  (models and safe checkpoint loading)
from mmmixer.config.options import add_cfg_options, merge_options


def main():
    from mmmixer.cli.usage import reports_input_errors

    reports_input_errors(classify)()


def classify():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('image', help='image file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument('--topk', type=int, default=5, help='how many classes to print')
    add_cfg_options(parser)
    from mmmixer.cli.infer import add_dtype_arguments, check_dtype_arguments

    add_dtype_arguments(parser)  # --dtype, --calibration, --compile: as mmmixer infer has them
    args = parser.parse_args()

    from mmmixer.apis import choose_model, classify_images, find_images
    from mmmixer.config.checks import check_config_values
    from mmmixer.config.read import load_config

    # Bad input is one line and exit code 2, before the model is built.
    find_images([args.image])  # exists
    check_dtype_arguments(args)
    cfg = load_config(args.config)
    merge_options(cfg, args.cfg_options)
    check_config_values(cfg)
    choice = choose_model(cfg, args.checkpoint)
    found = classify_images(
        [args.image],
        choice,
        device=args.device,
        topk=args.topk,
        batch_size=1,
        dtype=args.dtype,
        calibration=args.calibration,
        compile=args.compile,
    )
    for rank, prediction in enumerate(found.results[0].predictions, 1):
        print(f'{rank}. {prediction.name} (class {prediction.label}): {prediction.score:.4f}')
    print(f'model: {found.model_path}')


if __name__ == '__main__':
    main()
