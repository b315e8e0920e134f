"""Classify images: the library behind ``mmmixer infer`` and ``demo/image_demo.py``.

::

    from mmmixer.apis import classify_images

    found = classify_images(['photo.png', 'folder/'], 'configs/mixer-demo_digits.py', 'work_dirs/demo/epoch_15.pth')
    for result in found.results:
        print(result.path, [(p.name, round(p.score, 3)) for p in result.predictions])
    print(found.skipped)  # the files in the folders that are not images, with the reason

Every image is decoded first (:mod:`mmmixer.images`: any mode and depth, as the model's test pipeline decodes it),
then the model is built and the checkpoint loaded only if every weight fits it: a checkpoint of another model, or a
head of another size, is one line (:class:`~mmmixer.errors.InputError`), never a prediction from random weights.
The images then go through mmpretrain's ``ImageClassificationInferencer`` (the config's test pipeline, in batches).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from mmengine.config import Config

from mmmixer.apis.image_files import Skipped, decode_images, find_images
from mmmixer.apis.model_choice import ModelChoice, choose_model, loader_args
from mmmixer.checkpoint.fit import LOAD_ERROR, key_problem, shape_problem
from mmmixer.class_names import class_names
from mmmixer.errors import InputError


@dataclass(frozen=True)
class Prediction:
    label: int
    name: str  # the class name; the label as text where the checkpoint names no classes
    score: float


@dataclass
class Classified:
    """One image: its file, the decoded pixels (BGR), the top-k predictions and every class's score."""

    path: str
    image: np.ndarray = field(repr=False)
    predictions: list[Prediction]
    scores: np.ndarray = field(repr=False)


@dataclass
class Classification:
    results: list[Classified]
    skipped: list[Skipped]  # files of the named folders that are not images
    classes: list[str]


class CheckpointMismatchError(InputError):
    """A checkpoint whose weights do not fit the model (missing, unexpected or of another shape)."""


class Classifier:
    """A classification model with a checkpoint that fits it, ready to classify decoded images.

    Args:
        choice: The model and checkpoint (:func:`~mmmixer.apis.model_choice.choose_model`).
        device: ``cpu``, ``cuda``, ``cuda:1`` ...; None: cuda where there is one, else cpu.
    """

    def __init__(self, choice: ModelChoice, device: str | None = None):
        import torch
        from mmengine.registry import DefaultScope
        from mmpretrain.apis import ImageClassificationInferencer, get_model

        self.choice = choice
        device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        model = get_model(choice.config, pretrained=None)  # builds; the dataset's class names, if it has them
        meta = load_fitting_weights(model, choice)
        self.num_classes = num_classes(model)
        # The checkpoint's names, else those mmpretrain's get_model found for the config's data set.
        named = (meta.get('dataset_meta') or {}).get('classes') or (getattr(model, '_dataset_meta', {}) or {}).get(
            'classes'
        )
        self.classes = class_names({'dataset_meta': {'classes': named}}, self.num_classes)
        # The inferencer builds the config's pipeline in the current default scope: whatever an earlier Runner of this
        # process left there (e.g. 'mmengine'), the pipeline is mmpretrain's.
        with DefaultScope.overwrite_default_scope(choice.config.get('default_scope', 'mmpretrain')):
            self.inferencer = ImageClassificationInferencer(model.to(device), classes=self.classes)

    def classify(self, images: list[np.ndarray], topk: int = 5, batch_size: int = 16) -> list[tuple[list, np.ndarray]]:
        """``(top-k predictions, every class's score)`` of each decoded image (BGR, as :mod:`mmmixer.images` gives)."""
        samples = self.inferencer(images, return_datasamples=True, batch_size=batch_size)
        results = []
        for sample in samples:
            scores = sample.pred_score.float().cpu().numpy()
            order = np.argsort(-scores, kind='stable')[: min(topk, len(scores))]
            results.append(([Prediction(int(i), self.classes[i], float(scores[i])) for i in order], scores))
        return results


def classify_images(
    images: list[str],
    model: str | Config | ModelChoice | Classifier | None = None,
    pretrained: str | None = None,
    device: str | None = None,
    topk: int = 5,
    batch_size: int = 16,
) -> Classification:
    """Classify image files and folders of them (searched deeply) with a model of the zoo or a config.

    ``model``: a zoo name, a config file or ``Config`` (None: ``mixer-b16_in1k``), a :class:`ModelChoice` (then
    ``pretrained`` is its own) or a :class:`Classifier` already built (then ``pretrained`` and ``device`` are too).
    Raises :class:`~mmmixer.errors.InputError` (one line) for a file that is missing or does not decode, a model or
    checkpoint that cannot classify (see :func:`choose_model`), and a checkpoint that does not fit the model.
    """
    if topk < 1 or batch_size < 1:
        raise InputError(f'topk={topk} batch_size={batch_size}: both must be at least 1')
    paths, skipped = find_images(images)
    if isinstance(model, Classifier | ModelChoice):
        choice = model.choice if isinstance(model, Classifier) else model
    else:
        choice = choose_model(model, pretrained)
    decoded = decode_images(paths, loader_args(choice.config))  # before the (slow) model build
    classifier = model if isinstance(model, Classifier) else Classifier(choice, device)
    results = [
        Classified(path, image, predictions, scores)
        for path, image, (predictions, scores) in zip(
            paths, decoded, classifier.classify(decoded, topk, batch_size), strict=True
        )
    ]
    return Classification(results, skipped, classifier.classes)


def classify_image(image: str, config, checkpoint: str, device: str = 'cpu', topk: int = 5) -> list[tuple]:
    """Top-k ``(label, class name, score)`` of one image file (``config``: a file, a zoo name or a ``Config``)."""
    found = classify_images([image], config, checkpoint, device, topk, batch_size=1)
    return [(p.label, p.name, p.score) for p in found.results[0].predictions]


# ----------------------------------------------------------------------------- weights
def load_fitting_weights(model, choice: ModelChoice) -> dict:
    """Load the checkpoint into ``model`` if every weight fits (through mmengine's loaders, which ``import mmmixer``
    made safe); return its ``meta``. Raises :class:`CheckpointMismatchError` naming what does not fit."""
    from mmengine.runner.checkpoint import _load_checkpoint

    checkpoint = _load_checkpoint(choice.checkpoint, map_location='cpu', logger='silent')
    if not isinstance(checkpoint, dict):
        checkpoint = {}  # not a state dict: every weight is missing
    state_dict = checkpoint.get('state_dict', checkpoint)
    state_dict = {re.sub(r'^module\.', '', key): value for key, value in state_dict.items()}
    try:
        loaded = model.load_state_dict(state_dict, strict=False)
    except RuntimeError as error:  # torch reports weights of another shape this way, strict or not
        if LOAD_ERROR not in str(error):
            raise
        problem = shape_problem(str(error))
    else:
        problem = key_problem(loaded.missing_keys, loaded.unexpected_keys)
    if problem:
        raise CheckpointMismatchError(mismatch_message(choice, problem, checkpoint))
    return checkpoint.get('meta') or {}


def mismatch_message(choice: ModelChoice, problem: str, checkpoint) -> str:
    """One line: what does not fit, and the fix (the config the checkpoint was trained with, where it names one)."""
    from mmmixer.checkpoint.training_config import describe_model, training_config_file, training_settings

    trained_with = training_config_file(checkpoint, choice.checkpoint)
    described = describe_model(training_settings(checkpoint))
    origin = {'load_from': " (the config's load_from)", 'hub': " (the model's published weights)"}.get(
        choice.weights_from, ''
    )
    what = f'the default model {choice.name}' if choice.default else choice.name
    if trained_with:
        config = f'{trained_with}, the config it was trained with'
    else:
        config = 'the config it was trained with' + (f' (its model: {described})' if described else '')
    if choice.weights_from == 'load_from':
        fix = 'pass --pretrained with a checkpoint trained with this config'
    else:  # only `mmmixer infer` has a default model: the others name their config themselves
        fix = f'pass --model {config}' if choice.default else f'use {config}'
    return f'checkpoint {choice.checkpoint}{origin} does not fit {what}: {problem}; {fix}'


def num_classes(model) -> int:
    head = getattr(model, 'head', None)
    count = getattr(head, 'num_classes', None)
    if count is None:
        raise InputError(f'{type(model).__name__} has no classification head with num_classes: infer classifies images')
    return int(count)
