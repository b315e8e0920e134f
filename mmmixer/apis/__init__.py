"""Classification as a library: :func:`classify_images` (the logic of ``mmmixer infer`` and ``demo/image_demo.py``),
:class:`Classifier` (a model with weights that fit it, built once), :func:`choose_model` (a zoo name or a config,
and its checkpoint), :func:`find_images` / :func:`decode_images` (the images a user names, decoded as the model takes
them), :func:`cpu_predictor` (a classifier's logits on the CPU in fp32, bf16 or int8)."""

from .classify import (
    CheckpointMismatchError,
    Classification,
    Classified,
    Classifier,
    Prediction,
    classify_image,
    classify_images,
)
from .cpu_predictor import CpuPredictor, PredictingClassifier, UnsupportedDtypeError, cpu_predictor
from .image_files import IMAGE_SUFFIXES, Skipped, decode_images, find_images
from .model_choice import DEFAULT_MODEL, ModelChoice, choose_model

__all__ = [
    'DEFAULT_MODEL',
    'IMAGE_SUFFIXES',
    'CheckpointMismatchError',
    'Classification',
    'Classified',
    'Classifier',
    'CpuPredictor',
    'ModelChoice',
    'PredictingClassifier',
    'Prediction',
    'Skipped',
    'UnsupportedDtypeError',
    'choose_model',
    'classify_image',
    'classify_images',
    'cpu_predictor',
    'decode_images',
    'find_images',
]
