"""``mmmixer infer IMAGE... [--model NAME|CONFIG] [--pretrained CKPT] [--topk 5] [--out predictions.json]
[--show-dir DIR] [--dtype fp32|bf16|int8|auto] [--calibration DIR] [--compile] [--workers N]``: classify images with
a model of mmpretrain's zoo (mmmixer's own, or any of mmpretrain's) or a config: argument parsing and printing over
:func:`mmmixer.apis.classify_images`.

The files are decoded and preprocessed in DataLoader workers while the model predicts; the last line says how many
images per second that gave (decoding and preprocessing included) and how the model ran (``--dtype``: CPU inference
in bf16 with the weights converted once, int8 calibrated on ``--calibration``'s images, or fp32, the default).

Prints one row per image and rank (class name and score), then the files of the named folders that were skipped
because they are not images (and why); ``--out`` writes the same as JSON, ``--show-dir`` draws each image with its
top-k (mmpretrain's visualizer) as a PNG. Any image a decoder knows is classified (any mode, depth and size:
:mod:`mmmixer.images` and the config's test pipeline). Bad input is one line and exit code 2: a file that does not
decode, an unknown model name (with the closest known names), a config of another task, a model without weights,
a checkpoint that is missing or does not fit the model (naming the config it was trained with, where it says).
"""

from __future__ import annotations

import argparse
import os
import os.path as osp
import sys

from mmmixer.apis.image_files import find_images
from mmmixer.apis.model_choice import DEFAULT_MODEL
from mmmixer.cli.common import usage_error
from mmmixer.cli.usage import reports_input_errors
from mmmixer.fileio import check_new_output, write_atomically, write_json_atomically

MIN_DRAWN_SIDE = 256  # small images (the 32 px digits) are enlarged in the drawings so that the text is readable


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description='Classify images (files or folders) with a model of the zoo or a config; print the top-k classes',
    )
    parser.add_argument('images', nargs='+', metavar='IMAGE', help='image files, or folders of them (searched deeply)')
    parser.add_argument(
        '--model',
        help=f"a model name (`mmpretrain.list_models('*mixer*')`; default {DEFAULT_MODEL}) or a config file",
    )
    parser.add_argument(
        '--pretrained',
        help="a checkpoint path or URL; default: the model's published weights, or a config's load_from (the "
        "checkpoint must fit the model: a checkpoint of your own run needs --model with the run's config)",
    )
    parser.add_argument('--topk', type=int, default=5, help='how many classes to show per image (default 5)')
    parser.add_argument('--batch-size', type=int, default=16, help='images per forward pass (default 16)')
    parser.add_argument('--device', help='cpu, cuda, cuda:1 ... (default: cuda if available, else cpu)')
    parser.add_argument('--out', help='also write the predictions to this JSON file')
    parser.add_argument('--show-dir', help='draw each image with its predictions into this folder (PNG)')
    parser.add_argument('--force', action='store_true', help='overwrite --out and drawings that exist')
    add_dtype_arguments(parser)
    parser.add_argument(
        '--workers',
        type=int,
        help='processes that decode and preprocess the images (default: none for one batch, else up to 4)',
    )
    return parser


def add_dtype_arguments(parser: argparse.ArgumentParser) -> None:
    """``--dtype``, ``--calibration``, ``--compile``: how the model runs on the CPU (also ``mmmixer test``'s)."""
    parser.add_argument(
        '--dtype',
        choices=['fp32', 'bf16', 'int8', 'auto'],
        default='fp32',
        help='CPU inference in this number format: bf16 (weights converted once; needs a processor with bf16 '
        'instructions), int8 (static quantisation; needs --calibration), auto (bf16 where the processor has it, '
        'else fp32); default fp32, the model as it is',
    )
    parser.add_argument(
        '--calibration', metavar='DIR', help='--dtype int8: a folder of training images to calibrate on'
    )
    parser.add_argument(
        '--compile', action='store_true', help='CPU: torch.compile the model with freezing (the first batch compiles)'
    )


def check_dtype_arguments(args: argparse.Namespace) -> None:
    """One line and exit 2, before any model is built, for a --dtype that cannot run as asked."""
    check_calibration_arguments(args)
    if (args.dtype != 'fp32' or args.compile) and args.device not in (None, 'cpu'):
        usage_error(f'--dtype {args.dtype} and --compile are CPU inference: pass --device cpu, not {args.device}')


def check_calibration_arguments(args: argparse.Namespace) -> None:
    """``--dtype`` and ``--calibration`` that do not go together, and bf16 on a processor without it: one line and
    exit 2 (``mmmixer infer``, ``mmmixer test``, ``demo/image_demo.py``)."""
    from mmmixer.apis.cpu_predictor import resolve_dtype

    if args.dtype == 'int8' and args.calibration is None:
        usage_error('--dtype int8 needs --calibration DIR: a folder of training images (never the scored ones)')
    if args.dtype != 'int8' and args.calibration is not None:
        usage_error(f'--calibration is for --dtype int8, not {args.dtype}: leave it out or pass --dtype int8')
    if args.calibration is not None and not osp.isdir(args.calibration):
        usage_error(f'--calibration {args.calibration} is not a folder; name a folder of training images')
    if args.dtype == 'bf16':
        resolve_dtype('bf16')  # a processor without bf16 instructions: one line


def check_output(out: str | None, force: bool) -> None:
    if out is not None:
        check_new_output(out, force, '--out')


def check_drawings(show_dir: str | None, images: list[str], force: bool) -> None:
    """Refuse, before classifying, drawings that would overwrite files in ``--show-dir`` (unless ``--force``)."""
    if show_dir is None:
        return
    for name in drawing_names(images):
        check_new_output(osp.join(show_dir, name), force, '--show-dir', folder_created=True)


def print_table(results) -> None:
    width = max(len('image'), *(len(result.path) for result in results))
    class_width = max(len('class'), *(len(p.name) for result in results for p in result.predictions))
    print(f'{"image":<{width}}  rank  {"class":<{class_width}}  score')
    for result in results:
        for rank, prediction in enumerate(result.predictions, 1):
            shown = result.path if rank == 1 else ''
            print(f'{shown:<{width}}  {rank:>4}  {prediction.name:<{class_width}}  {prediction.score:.4f}')


def print_skipped(skipped) -> None:
    if skipped:
        print(f"skipped {len(skipped)} of the folders' files: not images")
        for item in skipped:
            print(f'  {item.path}: {item.reason}')


def write_json(out: str, found, model: str) -> None:
    """Written whole or not at all (:mod:`mmmixer.fileio`)."""
    records = [
        {
            'image': result.path,
            'predictions': [{'label': p.label, 'class': p.name, 'score': p.score} for p in result.predictions],
        }
        for result in found.results
    ]
    skipped = [{'file': item.path, 'reason': item.reason} for item in found.skipped]
    write_json_atomically({'model': model, 'results': records, 'skipped': skipped}, out)


def drawing_names(images: list[str]) -> list[str]:
    """One PNG name per image: its stem, numbered where two images share one (digits/3/0001.png, digits/5/0001.png)."""
    stems = [osp.splitext(osp.basename(image))[0] for image in images]
    repeated = {stem for stem in stems if stems.count(stem) > 1}
    return [f'{index:05d}_{stem}.png' if stem in repeated else f'{stem}.png' for index, stem in enumerate(stems)]


def draw(show_dir: str, results, classes, topk: int) -> list[str]:
    import torch
    from mmpretrain.structures import DataSample
    from mmpretrain.visualization import UniversalVisualizer
    from PIL import Image

    os.makedirs(show_dir, exist_ok=True)
    visualizer = UniversalVisualizer()
    written = []
    for name, result in zip(drawing_names([result.path for result in results]), results, strict=True):
        sample = DataSample().set_pred_score(torch.from_numpy(result.scores))
        sample.set_pred_label(torch.tensor([p.label for p in result.predictions][:topk]))
        short = min(result.image.shape[:2])
        drawn = visualizer.visualize_cls(
            result.image[..., ::-1].copy(),  # the visualizer draws RGB
            sample,
            classes=classes,
            draw_gt=False,
            resize=MIN_DRAWN_SIDE if short < MIN_DRAWN_SIDE else None,
        )
        out_file = osp.join(show_dir, name)
        write_atomically(out_file, lambda tmp, drawn=drawn: Image.fromarray(drawn).save(tmp, format='PNG'))
        written.append(out_file)
    return written


@reports_input_errors
def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    args = build_parser(prog).parse_args(argv)
    if args.topk < 1 or args.batch_size < 1:
        usage_error(f'--topk {args.topk} --batch-size {args.batch_size}: both must be at least 1')
    if args.workers is not None and args.workers < 0:
        usage_error(f'--workers {args.workers}: give 0 (decode in this process) or more')
    check_dtype_arguments(args)
    check_output(args.out, args.force)
    if args.show_dir is not None and osp.isfile(args.show_dir):
        usage_error(f'--show-dir {args.show_dir} is a file; name a folder for the drawings')
    images, _ = find_images(args.images)
    check_drawings(args.show_dir, images, args.force)

    import mmpretrain.utils.progress

    from mmmixer.apis.classify import classify_images
    from mmmixer.apis.model_choice import choose_model

    # mmpretrain's progress bar (rich) ends without a newline when stdout is not a terminal: it would run into
    # the table's first line.
    was_disabled = mmpretrain.utils.progress.disable_progress_bar
    mmpretrain.utils.progress.disable_progress_bar = not sys.stdout.isatty()
    try:
        choice = choose_model(args.model, args.pretrained)
        found = classify_images(
            args.images,
            choice,
            device=args.device,
            topk=args.topk,
            batch_size=args.batch_size,
            dtype=args.dtype,
            calibration=args.calibration,
            compile=args.compile,
            workers=args.workers,
        )
    finally:
        mmpretrain.utils.progress.disable_progress_bar = was_disabled
    if choice.weights_from == 'load_from':
        print(f"weights: {choice.checkpoint} (the config's load_from; --pretrained names others)")
    print_table(found.results)
    print_skipped(found.skipped)
    if args.out:
        write_json(args.out, found, choice.name)
        print(f'predictions written to {args.out}')
    if args.show_dir:
        written = draw(args.show_dir, found.results, found.classes, args.topk)
        print(f'{len(written)} drawings written to {args.show_dir}')
    count = len(found.results)
    print(
        f'{count} images in {found.seconds:.2f} s: {count / found.seconds:.1f} images/s, decoding and preprocessing '
        f'included (model: {found.model_path})'
    )
