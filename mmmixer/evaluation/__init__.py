"""Evaluation protocols beyond a config's test set: few-shot linear evaluation of frozen features."""

from mmmixer.evaluation.fewshot import (
    DEFAULT_L2_REG,
    DEFAULT_SEEDS,
    DEFAULT_SHOTS,
    FewShotInputError,
    fewshot_accuracies,
    fewshot_lsr_accuracy,
    fit_least_squares,
)

__all__ = [
    'DEFAULT_L2_REG',
    'DEFAULT_SEEDS',
    'DEFAULT_SHOTS',
    'FewShotInputError',
    'fewshot_accuracies',
    'fewshot_lsr_accuracy',
    'fit_least_squares',
]
