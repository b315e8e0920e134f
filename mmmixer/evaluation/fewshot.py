"""Few-shot linear evaluation of frozen features, as the Mixer paper measures it (big_vision's ``fewshot_lsr``).

A linear classifier is fitted to ``shots`` labelled examples per class by L2-regularised least squares
and scored on a test set. Every step follows big_vision ``big_vision/evaluators/fewshot_lsr.py``:

* features whitened with the mean and population std of the training shots, plus 1e-5 (lines 42-44);
* a constant bias feature of 100, large so that the bias is almost unregularised (lines 30, 47);
* one-hot targets rescaled into {-1, 1} (line 50);
* ``w = (x^T x + l2 I)^-1 x^T y`` when N >= D, else ``w = x^T (x x^T + l2 I)^-1 y``, both through the
  eigendecomposition of the smaller Gram matrix (lines 75-82, 106-108);
* the shots of each class are the first ``shots`` of a permutation of that class's examples drawn, class
  after class, from ``numpy.random.default_rng(seed)``; one permutation per seed serves every shot count
  (lines 215-221), so the 5 shots of a seed are among its 10.

big_vision computes in float32 on the CPU; we compute in float64, so its numbers and ours agree to float32's
rounding. The defaults (shots 1, 5, 10, 25; l2 2**10; 3 seeds) are big_vision
``big_vision/configs/common_fewshot.py`` lines 24-26.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from mmmixer.errors import InputError

BIAS_CONSTANT = 100.0
WHITENING_EPS = 1e-5
DEFAULT_L2_REG = 2.0**10
DEFAULT_SHOTS = (1, 5, 10, 25)
DEFAULT_SEEDS = 3


class FewShotInputError(InputError, ValueError):
    """Features, labels or shot counts that few-shot evaluation cannot use; the message names the fix."""


class LinearSolution(NamedTuple):
    """A least-squares classifier: ``argmax(((x - mean) / std, 100) @ weights)``."""

    weights: np.ndarray  # (D + 1, C): the last row is the bias feature's
    mean: np.ndarray  # (1, D)
    std: np.ndarray  # (1, D), std + 1e-5


def as_float64(array, name: str) -> np.ndarray:
    """A numpy float64 copy of a numpy array, a torch tensor (any device) or a list."""
    if hasattr(array, 'detach'):  # a torch tensor
        array = array.detach().cpu().numpy()
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 2:
        raise FewShotInputError(f'{name} has shape {array.shape}; pass features as an (N, D) array')
    return array


def as_labels(labels, name: str, num_rows: int) -> np.ndarray:
    """Integer class indices, one per feature row."""
    if hasattr(labels, 'detach'):
        labels = labels.detach().cpu().numpy()
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != num_rows or not np.issubdtype(labels.dtype, np.integer):
        raise FewShotInputError(
            f'{name} must be {num_rows} integer class indices (one per feature row), got {labels.dtype} {labels.shape}'
        )
    if len(labels) and labels.min() < 0:
        raise FewShotInputError(f'{name} holds a negative class index ({labels.min()}); use indices 0..C-1')
    return labels


def whiten(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Standardised features with the constant bias feature appended."""
    whitened = (x - mean) / std
    return np.pad(whitened, ((0, 0), (0, 1)), constant_values=BIAS_CONSTANT)


def fit_least_squares(x_train, y_train, num_classes: int, l2_reg: float = DEFAULT_L2_REG) -> LinearSolution:
    """The L2-regularised least-squares classifier of big_vision's few-shot evaluator (see the module docstring)."""
    x = as_float64(x_train, 'x_train')
    y = as_labels(y_train, 'y_train', len(x))
    mean = x.mean(axis=0, keepdims=True)
    std = x.std(axis=0, keepdims=True) + WHITENING_EPS  # population std (ddof 0), as jnp.std
    x = whiten(x, mean, std)
    targets = 2.0 * np.eye(num_classes)[y] - 1.0
    num_points, dim = x.shape
    # Both branches are lhs (diag(eigs) + l2)^-1 rhs, from the eigendecomposition of the smaller Gram matrix.
    if num_points >= dim:
        eigs, q = np.linalg.eigh(x.T @ x)
        lhs, rhs = q, q.T @ (x.T @ targets)
    else:
        eigs, q = np.linalg.eigh(x @ x.T)
        lhs, rhs = x.T @ q, q.T @ targets
    weights = (lhs / (eigs + l2_reg)[None, :]) @ rhs
    return LinearSolution(weights, mean, std)


def predict(solution: LinearSolution, x) -> np.ndarray:
    """The class index the classifier gives each row of ``x``."""
    return np.argmax(whiten(as_float64(x, 'x_test'), solution.mean, solution.std) @ solution.weights, axis=1)


def fewshot_lsr_accuracy(
    x_train, y_train, x_test, y_test, l2_reg: float = DEFAULT_L2_REG, num_classes: int | None = None
) -> float:
    """Accuracy on ``(x_test, y_test)`` of big_vision's least-squares classifier fitted to ``(x_train, y_train)``.

    Features are (N, D) numpy arrays or torch tensors, labels integer class indices. ``num_classes`` defaults
    to the largest label + 1 (big_vision uses the data set's class count: the same whenever every class has
    a shot).
    """
    x_train, x_test = as_float64(x_train, 'x_train'), as_float64(x_test, 'x_test')
    y_train, y_test = as_labels(y_train, 'y_train', len(x_train)), as_labels(y_test, 'y_test', len(x_test))
    if x_train.shape[1] != x_test.shape[1]:
        raise FewShotInputError(
            f'x_test has {x_test.shape[1]} features, x_train {x_train.shape[1]}; extract both with the same model'
        )
    if num_classes is None:
        num_classes = int(max(y_train.max(initial=-1), y_test.max(initial=-1))) + 1
    solution = fit_least_squares(x_train, y_train, num_classes, l2_reg)
    return float(np.mean(predict(solution, x_test) == y_test))


def class_permutations(labels, num_classes: int, seed: int) -> list[np.ndarray]:
    """For each class in turn, a permutation of its examples' indices, drawn from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    return [rng.permutation(np.flatnonzero(labels == cls)) for cls in range(num_classes)]


def shot_indices(permutations: Sequence[np.ndarray], shots: int) -> np.ndarray:
    """The first ``shots`` examples of every class's permutation, class after class."""
    return np.concatenate([indices[:shots] for indices in permutations])


def check_enough_shots(counts: Sequence[int], class_names: Sequence[str], shots: Sequence[int], where: str) -> None:
    """Refuse shot counts that some class cannot supply (``counts``: images per class), and a single class."""
    if len(class_names) < 2:
        raise FewShotInputError(
            f'{where} has {len(class_names)} class; few-shot classification needs at least 2 class folders'
        )
    most = max(shots)
    short = [f'{class_names[cls]} ({counts[cls]})' for cls in range(len(class_names)) if counts[cls] < most]
    if short:
        raise FewShotInputError(
            f'--shots {most} needs {most} images in every class of {where}, but not all have as many: '
            f'{", ".join(short[:5])}{" ..." if len(short) > 5 else ""}; ask for fewer shots or add images'
        )


def fewshot_accuracies(
    train_features,
    train_labels,
    test_features,
    test_labels,
    num_classes: int,
    shots: Sequence[int] = DEFAULT_SHOTS,
    seeds: int = DEFAULT_SEEDS,
    l2_reg: float = DEFAULT_L2_REG,
) -> dict[int, list[float]]:
    """``{shots: [accuracy of seed 0, seed 1, ...]}``: big_vision's evaluator on precomputed features."""
    train_features = as_float64(train_features, 'train features')
    train_labels = as_labels(train_labels, 'train labels', len(train_features))
    test_features = as_float64(test_features, 'test features')
    results: dict[int, list[float]] = {count: [] for count in shots}
    for seed in range(seeds):
        permutations = class_permutations(train_labels, num_classes, seed)
        for count in shots:
            chosen = shot_indices(permutations, count)
            accuracy = fewshot_lsr_accuracy(
                train_features[chosen], train_labels[chosen], test_features, test_labels, l2_reg, num_classes
            )
            results[count].append(accuracy)
    return results
