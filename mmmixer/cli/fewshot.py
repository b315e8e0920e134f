"""``mmmixer fewshot CONFIG CHECKPOINT --train DIR --test DIR``: few-shot linear evaluation of a checkpoint's frozen
features, big_vision's protocol (:mod:`mmmixer.evaluation.fewshot`): a table of shots x accuracy (mean ± std over
the seeds)."""

from __future__ import annotations

import argparse

import numpy as np

from mmmixer.cli.usage import reports_input_errors
from mmmixer.errors import InputError
from mmmixer.evaluation.fewshot import DEFAULT_L2_REG, DEFAULT_SEEDS, DEFAULT_SHOTS, check_enough_shots


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Few-shot linear evaluation (big_vision's fewshot_lsr): least squares on the frozen pre-logits "
        'of K images per class, scored on a test folder.',
    )
    parser.add_argument('config', help="the model's config (its test pipeline prepares the images)")
    parser.add_argument('checkpoint', help='the weights; only the backbone (and neck) are used')
    parser.add_argument('--train', required=True, help='folder to draw the shots from: DIR/<class>/<image>')
    parser.add_argument('--test', required=True, help='folder to score on, with the same class sub-folders')
    parser.add_argument('--shots', type=int, nargs='+', default=list(DEFAULT_SHOTS), help='default: 1 5 10 25')
    parser.add_argument('--seeds', type=int, default=DEFAULT_SEEDS, help='shot samplings per count (default 3)')
    parser.add_argument('--l2', type=float, default=DEFAULT_L2_REG, help='L2 regularisation (default 2**10 = 1024)')
    parser.add_argument('--batch-size', type=int, default=64, help='images per forward pass (default 64)')
    parser.add_argument('--device', help="e.g. 'cuda' or 'cpu' (default: cuda when available)")
    parser.add_argument('--out', help='also write the accuracies to this .json file')
    parser.add_argument('--force', action='store_true', help='overwrite --out if it exists')
    return parser


def check_arguments(args: argparse.Namespace) -> None:
    if min(args.shots) < 1 or args.seeds < 1 or args.batch_size < 1:
        raise InputError(f'--shots {args.shots} --seeds {args.seeds} --batch-size {args.batch_size}: all at least 1')
    if not args.l2 > 0:
        raise InputError(f'--l2 {args.l2} must be positive (big_vision uses 1024)')
    if args.out is not None:
        from mmmixer.fileio import check_new_output

        check_new_output(args.out, args.force, '--out')  # a folder, an existing file without --force, no folder


def summary_table(results: dict[int, list[float]]) -> str:
    lines = ['shots  accuracy (mean ± std over seeds)']
    for shots, values in results.items():
        lines.append(f'{shots:>5}  {100 * np.mean(values):6.2f} ± {100 * np.std(values):.2f} %')
    return '\n'.join(lines)


@reports_input_errors
def main(argv: list[str] | None = None, prog: str | None = None) -> dict[int, list[float]]:
    args = build_parser(prog).parse_args(argv)
    args.shots = sorted(set(args.shots))
    check_arguments(args)
    from mmmixer.config.checks import check_checkpoint_path, import_config_modules
    from mmmixer.config.read import load_config
    from mmmixer.transfer.folders import check_same_classes, read_class_folders

    # Everything that can be checked before a model is built.
    check_checkpoint_path(args.checkpoint, 'checkpoint')
    train = read_class_folders(args.train, 'the --train folder')
    test = read_class_folders(args.test, 'the --test folder')
    check_same_classes(train, test, 'the --test folder')
    check_enough_shots(train.counts, train.classes, args.shots, f'the --train folder {args.train}')
    cfg = load_config(args.config)
    import_config_modules(cfg)

    import torch

    from mmmixer.evaluation.features import extract_features, folder_loader, load_feature_model
    from mmmixer.evaluation.fewshot import fewshot_accuracies

    model = load_feature_model(cfg, args.checkpoint)
    model.to(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    features = {}
    for name, folders in (('train', train), ('test', test)):
        print(f'features of {folders.num_images} {name} images ({folders.root})', flush=True)
        features[name] = extract_features(model, folder_loader(cfg, folders.root, args.batch_size))
    results = fewshot_accuracies(
        *features['train'], *features['test'], len(train.classes), args.shots, args.seeds, args.l2
    )
    print(summary_table(results))
    if args.out:
        from mmmixer.fileio import write_json_atomically

        write_json_atomically(
            dict(
                config=args.config,
                checkpoint=args.checkpoint,
                l2_reg=args.l2,
                seeds=args.seeds,
                accuracy={str(shots): values for shots, values in results.items()},
            ),
            args.out,
        )
        print(f'accuracies written to {args.out}')
    return results
