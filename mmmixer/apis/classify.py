"""Classify images: the library behind ``mmmixer infer`` and ``demo/image_demo.py``.

::

    from mmmixer.apis import classify_images

    found = classify_images(['photo.png', 'folder/'], 'configs/mixer-demo_digits.py', 'work_dirs/demo/epoch_15.pth')
    for result in found.results:
        print(result.path, [(p.name, round(p.score, 3)) for p in result.predictions])
    print(found.skipped)  # the files in the folders that are not images, with the reason

The image files are decoded (:mod:`mmmixer.images`: any mode and depth, as the model's test pipeline decodes them)
and put through the config's test pipeline in DataLoader workers, in parallel with the model, which predicts as
mmpretrain's ``ImageClassificationInferencer`` does (its ``test_step``, in batches). The first batch is decoded
before the model is built, a file that does not decode is one line naming it. The model is built and the checkpoint
loaded only if every weight fits it: a checkpoint of another model, or a head of another size, is one line
(:class:`~mmmixer.errors.InputError`), never a prediction from random weights. ``dtype='bf16'`` / ``'int8'`` /
``'auto'`` run the model on the CPU in that number format (:func:`mmmixer.apis.cpu_predictor`); ``fp32``, the
default, is the model as it is.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field

import numpy as np
from mmengine.config import Config

from mmmixer.apis.image_batches import CALIBRATION_BATCH, image_batches, preprocessed_batches
from mmmixer.apis.image_files import Skipped, find_images
from mmmixer.apis.model_choice import ModelChoice, choose_model
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
    seconds: float = 0.0  # decoding, preprocessing and the model, from the first file read to the last prediction
    model_path: str = 'fp32 (eager)'  # how the model ran (Classifier.description)


class CheckpointMismatchError(InputError):
    """A checkpoint whose weights do not fit the model (missing, unexpected or of another shape)."""


class Classifier:
    """A classification model with a checkpoint that fits it, ready to classify decoded images or image files.

    Args:
        choice: The model and checkpoint (:func:`~mmmixer.apis.model_choice.choose_model`).
        device: ``cpu``, ``cuda``, ``cuda:1`` ...; None: cuda where there is one, else cpu (always cpu for a
            ``dtype`` other than fp32).
        dtype: ``fp32`` (the model as it is), or CPU inference in ``bf16``, ``int8`` or ``auto``
            (:func:`~mmmixer.apis.cpu_predictor.cpu_predictor`).
        calibration: int8: a folder of images to calibrate on (training images, never the ones classified).
        compile: ``torch.compile`` with freezing (CPU); the first batch compiles.
    """

    def __init__(
        self,
        choice: ModelChoice,
        device: str | None = None,
        dtype: str = 'fp32',
        calibration: str | None = None,
        compile: bool = False,
    ):
        import torch
        from mmengine.registry import DefaultScope
        from mmpretrain.apis import ImageClassificationInferencer, get_model

        from mmmixer.apis.cpu_predictor import DTYPES, UnsupportedDtypeError

        if dtype not in DTYPES:
            raise UnsupportedDtypeError(f'dtype {dtype!r} is not one of {", ".join(DTYPES)}')
        on_cpu = dtype != 'fp32' or compile
        if on_cpu and device not in (None, 'cpu'):
            raise UnsupportedDtypeError(f'dtype {dtype} and compile are CPU inference: use device cpu, not {device}')
        if dtype == 'int8' and calibration is None:
            raise UnsupportedDtypeError('dtype int8 needs calibration images: name a folder of training images')
        calibration_images = find_images([calibration])[0] if calibration is not None else None
        self.choice = choice
        device = device or ('cuda' if torch.cuda.is_available() and not on_cpu else 'cpu')
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
        self.description = 'fp32 (eager)'
        if on_cpu:
            self._use_cpu_predictor(model, dtype, calibration_images, compile)

    def _use_cpu_predictor(self, model, dtype: str, calibration_images: list[str] | None, compile: bool) -> None:
        """Predict with :func:`cpu_predictor` in ``dtype``: the inferencer's ``test_step`` takes its logits from it."""
        from mmmixer.apis.cpu_predictor import PredictingClassifier, cpu_predictor

        calibration = example = None
        if calibration_images is not None:
            calibration = preprocessed_batches(model, self.batches(calibration_images, CALIBRATION_BATCH))
            example = calibration[0]
        predictor = cpu_predictor(model, dtype, example_inputs=example, calibration=calibration, compile=compile)
        self.inferencer.model = PredictingClassifier(model, predictor)
        self.description = predictor.description

    def classify(self, images: list[np.ndarray], topk: int = 5, batch_size: int = 16) -> list[tuple[list, np.ndarray]]:
        """``(top-k predictions, every class's score)`` of each decoded image (BGR, as :mod:`mmmixer.images` gives)."""
        samples = self.inferencer(images, return_datasamples=True, batch_size=batch_size)
        return [self._predictions(sample, topk) for sample in samples]

    def classify_files(
        self, paths: list[str], topk: int = 5, batch_size: int = 16, workers: int | None = None
    ) -> list[tuple[np.ndarray, list, np.ndarray]]:
        """``(decoded image, top-k predictions, every class's score)`` of each image file, decoded and preprocessed
        in ``workers`` DataLoader processes (None: none for one batch, else up to 4, one per CPU) while the model
        predicts the previous batch. Raises :class:`~mmmixer.errors.BrokenImageError` for a file that does not
        decode."""
        return self.classify_batches(self.batches(paths, batch_size, workers), topk)

    def classify_batches(self, batches, topk: int = 5) -> list[tuple[np.ndarray, list, np.ndarray]]:
        """:meth:`classify_files` of batches of :func:`~mmmixer.apis.image_batches.image_batches`."""
        import torch

        results = []
        for images, batch in batches:
            with torch.no_grad():  # as the inferencer predicts
                samples = self.inferencer.model.test_step(batch)
            results.extend(
                (image, *self._predictions(sample, topk)) for image, sample in zip(images, samples, strict=True)
            )
        return results

    def batches(self, paths: list[str], batch_size: int, workers: int | None = None):
        """``(decoded images, collated batch)`` of the files, as the inferencer collates its input."""
        return image_batches(paths, self.choice.config, batch_size, workers, self.inferencer.pipeline)

    def _predictions(self, sample, topk: int) -> tuple[list, np.ndarray]:
        scores = sample.pred_score.float().cpu().numpy()
        order = np.argsort(-scores, kind='stable')[: min(topk, len(scores))]
        return [Prediction(int(i), self.classes[i], float(scores[i])) for i in order], scores


def classify_images(
    images: list[str],
    model: str | Config | ModelChoice | Classifier | None = None,
    pretrained: str | None = None,
    device: str | None = None,
    topk: int = 5,
    batch_size: int = 16,
    dtype: str = 'fp32',
    calibration: str | None = None,
    compile: bool = False,
    workers: int | None = None,
) -> Classification:
    """Classify image files and folders of them (searched deeply) with a model of the zoo or a config.

    ``model``: a zoo name, a config file or ``Config`` (None: ``mixer-b16_in1k``), a :class:`ModelChoice` (then
    ``pretrained`` is its own) or a :class:`Classifier` already built (then ``pretrained``, ``device``, ``dtype``,
    ``calibration`` and ``compile`` are too). ``dtype``, ``calibration``, ``compile``: see :class:`Classifier`;
    ``workers``: see :meth:`Classifier.classify_files`.
    Raises :class:`~mmmixer.errors.InputError` (one line) for a file that is missing or does not decode, a model or
    checkpoint that cannot classify (see :func:`choose_model`), a checkpoint that does not fit the model, and a dtype
    this processor or installation cannot run.
    """
    if topk < 1 or batch_size < 1:
        raise InputError(f'topk={topk} batch_size={batch_size}: both must be at least 1')
    paths, skipped = find_images(images)
    if isinstance(model, Classifier):
        choice, classifier = model.choice, model
    else:
        choice, classifier = (model if isinstance(model, ModelChoice) else choose_model(model, pretrained)), None
    start = time.perf_counter()
    batches = iter(image_batches(paths, choice.config, batch_size, workers))
    # The first batch is decoded before the (slow) model build, which its workers then overlap: a file of it that
    # does not decode is one line before any model is built; a later one when its batch comes.
    first = next(batches)
    build_seconds = 0.0
    if classifier is None:
        built = time.perf_counter()
        classifier = Classifier(choice, device, dtype, calibration, compile)
        build_seconds = time.perf_counter() - built
    classified = classifier.classify_batches(itertools.chain([first], batches), topk)
    seconds = time.perf_counter() - start - build_seconds
    results = [
        Classified(path, image, predictions, scores)
        for path, (image, predictions, scores) in zip(paths, classified, strict=True)
    ]
    return Classification(results, skipped, classifier.classes, seconds, classifier.description)


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
