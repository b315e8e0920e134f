"""The transfer demo: what pretraining buys on the embedded digits, measured both ways the paper measures transfer.

Source task: ``make demo``'s Mixer, trained on the upright digits' training split (all 10 classes). Target task: the
same digits upside down (rotated 180 degrees), with 1, 5, 10 or 25 labelled images per class drawn from the training
split; scored on the held-out split upside down, images that neither the pretraining nor the shots ever saw (in any
orientation). Against the same Mixer from random initialisation:

* few-shot: big_vision's least squares on frozen pre-logits (:mod:`mmmixer.evaluation.fewshot`), each seed with its
  own random initialisation and its own shots;
* fine-tuning: the transfer protocol (``mmmixer finetune``'s config and overrides) on the same shots, every weight
  trained; the steps are fixed (the protocol's rule would give tens of thousands for 10 images).
"""

from __future__ import annotations

import os
import os.path as osp

import numpy as np

from mmmixer.evaluation.fewshot import class_permutations, fewshot_lsr_accuracy, shot_indices
from mmmixer.fileio import write_folder_once
from mmmixer.transfer.folders import IMAGE_EXTENSIONS, read_class_folders

INITS = ('pretrained', 'random')
DEMO_CONFIG = 'mixer-demo_digits.py'  # its test pipeline gives the few-shot features
FINETUNE_CONFIG = 'finetune/mixer-b16_in1k-pre_custom.py'


def write_upside_down(digits_dir: str, out_dir: str) -> str:
    """The digits' ``train`` and ``val`` folders, every image rotated 180 degrees (written once, whole or not)."""
    from PIL import Image

    def write(folder: str) -> dict:
        for split in ('train', 'val'):
            for label in sorted(os.listdir(osp.join(digits_dir, split))):
                os.makedirs(osp.join(folder, split, label))
                for name in sorted(os.listdir(osp.join(digits_dir, split, label))):
                    with Image.open(osp.join(digits_dir, split, label, name)) as image:
                        image.rotate(180).save(osp.join(folder, split, label, name))
        return {}

    write_folder_once(out_dir, dict(source=osp.abspath(digits_dir), rotation=180), 'upside_down.json', 'digits', write)
    return out_dir


def folder_images(root: str) -> tuple[list[str], np.ndarray, list[str]]:
    """Every image of a class-folder tree in CustomDataset's order: (paths, labels, class names)."""
    folders = read_class_folders(root)
    paths, labels = [], []
    for label, name in enumerate(folders.classes):
        files = sorted(f for f in os.listdir(osp.join(root, name)) if f.lower().endswith(IMAGE_EXTENSIONS))
        paths += [osp.join(root, name, f) for f in files]
        labels += [label] * len(files)
    return paths, np.asarray(labels), folders.classes


def write_shots(train_root: str, shots: int, seed: int, out_dir: str) -> str:
    """A class-folder tree of the ``shots`` images per class that few-shot evaluation draws for ``seed``."""
    paths, labels, classes = folder_images(train_root)
    chosen = shot_indices(class_permutations(labels, len(classes), seed), shots)
    for index in chosen:
        folder = osp.join(out_dir, classes[labels[index]])
        os.makedirs(folder, exist_ok=True)
        target = osp.join(folder, osp.basename(paths[index]))
        if not osp.exists(target):
            os.symlink(osp.abspath(paths[index]), target)
    return out_dir


def demo_model(init: str, checkpoint: str, seed: int):
    """The demo Mixer (classifier), pretrained or freshly initialised with ``seed``, in eval mode."""
    import torch
    from mmengine.registry import MODELS, init_default_scope

    from mmmixer.config.read import load_config
    from mmmixer.evaluation.features import load_feature_model

    cfg = load_config(DEMO_CONFIG)
    if init == 'pretrained':
        return cfg, load_feature_model(cfg, checkpoint)
    init_default_scope('mmpretrain')
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model.eval()


def fewshot_curves(checkpoint: str, target_dir: str, shots, seeds: int, l2_reg: float) -> dict:
    """``{init: {shots: [accuracy per seed]}}`` of big_vision's few-shot least squares on frozen pre-logits."""
    from mmmixer.evaluation.features import extract_features, folder_loader

    results = {init: {count: [] for count in shots} for init in INITS}
    for init in INITS:
        features = None
        for seed in range(seeds):
            if init == 'random' or features is None:  # one random initialisation per seed
                cfg, model = demo_model(init, checkpoint, seed)
                train = extract_features(model, folder_loader(cfg, osp.join(target_dir, 'train'), 256), False)
                test = extract_features(model, folder_loader(cfg, osp.join(target_dir, 'val'), 256), False)
                features = train, test
            (x_train, y_train), (x_test, y_test) = features
            num_classes = int(y_train.max()) + 1
            permutations = class_permutations(y_train, num_classes, seed)
            for count in shots:
                chosen = shot_indices(permutations, count)
                accuracy = fewshot_lsr_accuracy(x_train[chosen], y_train[chosen], x_test, y_test, l2_reg, num_classes)
                results[init][count].append(accuracy)
    return results


def fine_tune_once(checkpoint: str, init: str, shots_dir: str, val_dir: str, steps: int, seed: int, work_dir: str):
    """Fine-tune the demo Mixer (pretrained or random) on ``shots_dir`` with the transfer protocol; the top-1
    accuracy (%) on ``val_dir``."""
    from mmmixer.engine.runner import TRAIN_DATALOADERS, run_to_the_end, runner_from_config
    from mmmixer.transfer.finetune import finetune_overrides
    from mmmixer.transfer.pretrained import read_pretrained_mixer

    pretrained = read_pretrained_mixer(checkpoint)
    train, val = read_class_folders(shots_dir), read_class_folders(val_dir)
    overrides, _ = finetune_overrides(checkpoint, pretrained, train, val, pretrained.img_size, 64, steps)
    overrides.update(
        {
            'randomness.seed': seed,
            'log_level': 'WARNING',
            'train_cfg.val_interval': steps + 1,  # scored once, after training
            'train_dataloader.num_workers': 0,
            'val_dataloader.num_workers': 0,
            'test_dataloader.num_workers': 0,
            'default_hooks.logger.interval': steps,
        }
    )
    if init == 'random':
        overrides['model.backbone.init_cfg'] = None

    def edit(cfg):
        cfg.merge_from_dict(overrides)

    runner = runner_from_config(FINETUNE_CONFIG, TRAIN_DATALOADERS, work_dir=work_dir, edit=edit)
    run_to_the_end(runner, runner.train)
    return runner.val_loop.run()['accuracy/top1']


def fine_tune_curves(checkpoint: str, target_dir: str, shots, seeds: int, steps: int, work_dir: str) -> dict:
    """``{init: {shots: [accuracy per seed]}}`` of fine-tuning on each seed's shots."""
    results = {init: {count: [] for count in shots} for init in INITS}
    for seed in range(seeds):
        for count in shots:
            shots_dir = write_shots(
                osp.join(target_dir, 'train'), count, seed, osp.join(work_dir, f'{count}shot_{seed}')
            )
            for init in INITS:
                run_dir = osp.join(work_dir, f'{init}_{count}shot_seed{seed}')
                accuracy = fine_tune_once(
                    checkpoint, init, shots_dir, osp.join(target_dir, 'val'), steps, seed, run_dir
                )
                results[init][count].append(accuracy / 100)
    return results


def plot_curves(curves: dict[str, dict], out_file: str) -> str:
    """Accuracy against shots per class, one line per (method, init), mean ± std over the seeds."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmmixer.fileio import write_atomically

    figure, axis = plt.subplots(figsize=(6, 4))
    for method, results in curves.items():
        for init, style in zip(INITS, ('-', '--'), strict=True):
            shots = sorted(results[init])
            means = [100 * np.mean(results[init][k]) for k in shots]
            stds = [100 * np.std(results[init][k]) for k in shots]
            axis.errorbar(shots, means, yerr=stds, linestyle=style, marker='o', capsize=3, label=f'{method}, {init}')
    axis.set(xscale='log', xlabel='labelled images per class', ylabel='top-1 on held-out digits, upside down (%)')
    axis.set_xticks(shots, [str(k) for k in shots])
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()

    def write(tmp: str) -> None:
        figure.savefig(tmp, format='png', dpi=120)

    write_atomically(out_file, write)
    plt.close(figure)
    return out_file
