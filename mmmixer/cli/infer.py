"""``mmmixer infer IMAGE... [--model NAME|CONFIG] [--pretrained CKPT] [--topk 5] [--out predictions.json]
[--show-dir DIR]``: classify images with a model of mmpretrain's zoo (mmmixer's own, or any of mmpretrain's) or a
config, batched through mmpretrain's ``ImageClassificationInferencer``.

Prints one row per image and rank (class name and score); ``--out`` writes the same as JSON, ``--show-dir`` draws
each image with its top-k (mmpretrain's visualizer) as a PNG. Every image is decoded before the model is built, so
a file that is not an image ends the command with one line naming it (exit code 2), as does an unknown model name
(with the closest known names) or a missing checkpoint; checkpoints load through the safe loader.
"""

from __future__ import annotations

import argparse
import os
import os.path as osp
import sys

from mmmixer.cli.common import load_config, reported_checkpoint_errors, usage_error
from mmmixer.fileio import check_output_folder, write_atomically, write_json_atomically

DEFAULT_MODEL = 'mixer-b16_in1k'
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif', '.tiff', '.webp')
MIN_DRAWN_SIDE = 256  # small images (the 32 px digits) are enlarged in the drawings so that the text is readable


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description='Classify images (files or folders) with a model of the zoo or a config; print the top-k classes',
    )
    parser.add_argument('images', nargs='+', metavar='IMAGE', help='image files, or folders of them (searched deeply)')
    parser.add_argument(
        '--model',
        default=DEFAULT_MODEL,
        help=f"a model name (`mmpretrain.list_models('*mixer*')`; default {DEFAULT_MODEL}) or a config file",
    )
    parser.add_argument(
        '--pretrained',
        help="a checkpoint path or URL; default: the model's published weights (a config or a model without "
        'published weights needs one)',
    )
    parser.add_argument('--topk', type=int, default=5, help='how many classes to show per image (default 5)')
    parser.add_argument('--batch-size', type=int, default=16, help='images per forward pass (default 16)')
    parser.add_argument('--device', help='cpu, cuda, cuda:1 ... (default: cuda if available, else cpu)')
    parser.add_argument('--out', help='also write the predictions to this JSON file')
    parser.add_argument('--show-dir', help='draw each image with its predictions into this folder (PNG)')
    return parser


def collect_images(paths: list[str]) -> list[str]:
    """The image files named by ``paths``: files as given, folders searched deeply (sorted) for image suffixes."""
    images = []
    for path in paths:
        if osp.isdir(path):
            found = sorted(
                osp.join(folder, name)
                for folder, _, names in os.walk(path)
                for name in names
                if name.lower().endswith(IMAGE_SUFFIXES)
            )
            if not found:
                usage_error(f'folder {path} holds no images ({", ".join(IMAGE_SUFFIXES)}); name image files or folders')
            images.extend(found)
        elif osp.exists(path):
            images.append(path)
        else:
            usage_error(f'image {path} does not exist; name image files or folders of them')
    return images


def read_images(paths: list[str]) -> list:
    """Decode every image (BGR, as mmcv reads them) before any model is built; one line for the first bad file."""
    from mmmixer.datasets.images import read_image

    decoded = []
    for path in paths:
        image, problem = read_image(path)
        if problem:
            usage_error(f'image {path} {problem}: name image files (JPEG, PNG, ...)')
        decoded.append(image)
    return decoded


def resolve_model(name: str, pretrained: str | None):
    """``(model for the inferencer, pretrained)``: a hub name or a config, with the weights to load."""
    import mmmixer  # noqa: F401  (our models in mmpretrain's hub; safe checkpoint loading)

    if name.endswith('.py'):
        cfg = load_config(name)  # a path, or one of mmmixer's configs by name; one line if missing or broken
        if pretrained is None:
            pretrained = cfg.get('load_from')
        if not pretrained:
            usage_error(f'--model {name} is a config and has no load_from: pass --pretrained CHECKPOINT')
        return cfg, pretrained

    from mmpretrain.apis.model import ModelHub, list_models

    from mmmixer.hub import closest_model_names

    if name.lower() not in list_models():
        close = closest_model_names(name)
        hint = f'closest names: {", ".join(close)}' if close else "list them with mmpretrain.list_models('*mixer*')"
        usage_error(f'unknown model {name!r} ({hint}); or name a config file (.py)')
    if pretrained is None:
        if ModelHub.get(name).weights is None:
            usage_error(
                f'model {name} has no published weights: pass --pretrained CHECKPOINT'
                + (' (`make demo` writes work_dirs/demo/epoch_15.pth)' if name.lower() == 'mixer-demo_digits' else '')
            )
        pretrained = True
    return name, pretrained


def check_output(out: str | None) -> None:
    if out is None:
        return
    if osp.isdir(out):
        usage_error(f'--out {out} is a folder; name a .json file')
    try:
        check_output_folder(out)
    except OSError as error:  # missing or not writable
        usage_error(f'--out {out}: {error}')


def top_predictions(scores, classes, topk: int) -> list[dict]:
    import numpy as np

    order = np.argsort(-scores, kind='stable')[:topk]
    return [
        {'label': int(i), 'class': classes[i] if classes else str(int(i)), 'score': float(scores[i])} for i in order
    ]


def print_table(images: list[str], predictions: list[list[dict]]) -> None:
    width = max(len('image'), *(len(image) for image in images))
    class_width = max(len('class'), *(len(p['class']) for rows in predictions for p in rows))
    print(f'{"image":<{width}}  rank  {"class":<{class_width}}  score')
    for image, rows in zip(images, predictions, strict=True):
        for rank, row in enumerate(rows, 1):
            shown = image if rank == 1 else ''
            print(f'{shown:<{width}}  {rank:>4}  {row["class"]:<{class_width}}  {row["score"]:.4f}')


def write_json(out: str, images: list[str], predictions: list[list[dict]], model: str) -> None:
    """Written whole or not at all (:mod:`mmmixer.fileio`)."""
    records = [{'image': image, 'predictions': rows} for image, rows in zip(images, predictions, strict=True)]
    write_json_atomically({'model': model, 'results': records}, out)


def drawing_names(images: list[str]) -> list[str]:
    """One PNG name per image: its stem, numbered where two images share one (digits/3/0001.png, digits/5/0001.png)."""
    stems = [osp.splitext(osp.basename(image))[0] for image in images]
    repeated = {stem for stem in stems if stems.count(stem) > 1}
    return [f'{index:05d}_{stem}.png' if stem in repeated else f'{stem}.png' for index, stem in enumerate(stems)]


def draw(show_dir: str, images: list[str], decoded: list, samples: list, classes, topk: int) -> list[str]:
    import torch
    from mmpretrain.visualization import UniversalVisualizer
    from PIL import Image

    os.makedirs(show_dir, exist_ok=True)
    visualizer = UniversalVisualizer()
    written = []
    for name, image, sample in zip(drawing_names(images), decoded, samples, strict=True):
        sample = sample.clone()
        sample.set_pred_label(torch.argsort(sample.pred_score, descending=True)[:topk])
        short = min(image.shape[:2])
        drawn = visualizer.visualize_cls(
            image[..., ::-1].copy(),  # the visualizer draws RGB
            sample,
            classes=classes,
            draw_gt=False,
            resize=MIN_DRAWN_SIDE if short < MIN_DRAWN_SIDE else None,
        )
        out_file = osp.join(show_dir, name)
        write_atomically(out_file, lambda tmp, drawn=drawn: Image.fromarray(drawn).save(tmp, format='PNG'))
        written.append(out_file)
    return written


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    args = build_parser(prog).parse_args(argv)
    if args.topk < 1 or args.batch_size < 1:
        usage_error(f'--topk {args.topk} --batch-size {args.batch_size}: both must be at least 1')
    check_output(args.out)
    if args.show_dir is not None and osp.isfile(args.show_dir):
        usage_error(f'--show-dir {args.show_dir} is a file; name a folder for the drawings')
    images = collect_images(args.images)
    decoded = read_images(images)
    model, pretrained = resolve_model(args.model, args.pretrained)
    from mmmixer.cli.config_checks import check_checkpoint_path

    check_checkpoint_path(pretrained, 'checkpoint')  # a directory or a missing file: one line, exit 2

    import torch
    from mmpretrain.apis import ImageClassificationInferencer
    from mmpretrain.datasets.categories import IMAGENET_CATEGORIES

    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    with reported_checkpoint_errors():
        inferencer = ImageClassificationInferencer(model, pretrained=pretrained, device=device)
    import mmpretrain.utils.progress

    # mmpretrain's progress bar (rich) ends without a newline when stdout is not a terminal: it would run into
    # the table's first line.
    mmpretrain.utils.progress.disable_progress_bar = not sys.stdout.isatty()
    samples = inferencer(decoded, return_datasamples=True, batch_size=args.batch_size)
    classes = inferencer.classes
    num_classes = samples[0].pred_score.numel()
    if not classes and num_classes == len(IMAGENET_CATEGORIES):
        classes = IMAGENET_CATEGORIES  # a checkpoint without dataset_meta for a 1000-class model
    topk = min(args.topk, num_classes)
    predictions = [top_predictions(sample.pred_score.cpu().numpy(), classes, topk) for sample in samples]
    print_table(images, predictions)
    if args.out:
        write_json(args.out, images, predictions, model if isinstance(model, str) else args.model)
        print(f'predictions written to {args.out}')
    if args.show_dir:
        written = draw(args.show_dir, images, decoded, samples, classes, topk)
        print(f'{len(written)} drawings written to {args.show_dir}')
