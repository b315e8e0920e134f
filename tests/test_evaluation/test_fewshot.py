"""Few-shot linear evaluation equals big_vision's least squares, solved here directly in float64."""

import numpy as np
import pytest
import torch

from mmmixer.evaluation import FewShotInputError, fewshot_accuracies, fewshot_lsr_accuracy, fit_least_squares
from mmmixer.evaluation.fewshot import check_enough_shots, class_permutations, shot_indices

L2 = 1024.0


def direct_solution(x, y, num_classes, l2):
    """big_vision's regression written out: whiten with the population std + 1e-5, append a bias feature of
    100, targets in {-1, 1}, then solve (X^T X + l2 I) W = X^T Y with numpy.linalg.solve."""
    mean, std = x.mean(0), x.std(0, ddof=0) + 1e-5
    features = np.hstack([(x - mean) / std, np.full((len(x), 1), 100.0)])
    targets = -np.ones((len(x), num_classes))
    targets[np.arange(len(x)), y] = 1.0
    gram = features.T @ features + l2 * np.eye(features.shape[1])
    return np.linalg.solve(gram, features.T @ targets), mean, std


def toy_features(num_points, dim, num_classes, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(num_points) % num_classes
    centres = rng.normal(size=(num_classes, dim)) * 3
    return centres[labels] + rng.normal(size=(num_points, dim)) * [1 + i for i in range(dim)], labels


@pytest.mark.parametrize(
    ('num_points', 'dim'),
    [(200, 12), (13, 12), (8, 40), (3, 700)],
    ids=['N>=D', 'N=D', 'D>N', 'D>>N'],
)
def test_weights_equal_a_direct_solve_of_the_normal_equations(num_points, dim):
    """Both of big_vision's branches (eigh of x^T x when N >= D, of x x^T when D > N; D counts the bias feature)
    give the weights of the regularised normal equations to 1e-6."""
    x, y = toy_features(num_points, dim, num_classes=3)
    solution = fit_least_squares(x, y, num_classes=3, l2_reg=L2)
    expected, mean, std = direct_solution(x, y, 3, L2)
    np.testing.assert_allclose(solution.mean[0], mean, rtol=1e-12)
    np.testing.assert_allclose(solution.std[0], std, rtol=1e-12)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(solution.weights, expected, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize('l2', [1e-3, 1.0, L2, 1e6])
def test_accuracy_is_that_of_the_direct_solution_on_held_out_points(l2):
    """The accuracy counts the test points whose argmax of the directly solved classifier is their label."""
    x, y = toy_features(400, 6, num_classes=4, seed=1)
    train, test = slice(0, 40), slice(40, None)
    weights, mean, std = direct_solution(x[train], y[train], 4, l2)
    scores = np.hstack([(x[test] - mean) / std, np.full((360, 1), 100.0)]) @ weights
    expected = np.mean(scores.argmax(1) == y[test])
    assert 0.3 < expected < 1.0  # neither trivial nor perfect: a wrong solver would show
    assert fewshot_lsr_accuracy(x[train], y[train], x[test], y[test], l2_reg=l2) == pytest.approx(expected, abs=0)


def test_torch_tensors_and_float32_give_the_numpy_float64_result():
    x, y = toy_features(300, 8, num_classes=3, seed=2)
    from_numpy = fewshot_lsr_accuracy(x[:30], y[:30], x[30:], y[30:])
    tensors = [torch.from_numpy(a) for a in (x[:30].astype(np.float32), y[:30], x[30:].astype(np.float32), y[30:])]
    assert fewshot_lsr_accuracy(*tensors) == pytest.approx(from_numpy, abs=1 / 270)


def test_shots_are_the_start_of_one_seeded_permutation_per_class():
    """As big_vision: rng = default_rng(seed); one permutation of each class's indices, class after class; a
    k-shot set is the first k of each, so the 5 shots of a seed are among its 10."""
    labels = np.array([2, 0, 1, 0, 2, 1, 0, 0, 1, 2, 2, 0, 1, 1, 2, 0])
    permutations = class_permutations(labels, num_classes=3, seed=7)
    rng = np.random.default_rng(7)
    expected = [rng.permutation(np.where(labels == c)[0]) for c in range(3)]
    for ours, theirs in zip(permutations, expected, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    two_shot = shot_indices(permutations, 2)
    assert np.bincount(labels[two_shot]).tolist() == [2, 2, 2]
    np.testing.assert_array_equal(two_shot[:2], expected[0][:2])
    assert set(two_shot) <= set(shot_indices(permutations, 4))
    other_seed = shot_indices(class_permutations(labels, 3, seed=8), 2)
    assert not np.array_equal(two_shot, other_seed)


def test_fewshot_accuracies_scores_each_seed_and_shot_count():
    x, y = toy_features(240, 5, num_classes=4, seed=3)
    train, test = slice(0, 160), slice(160, None)
    results = fewshot_accuracies(x[train], y[train], x[test], y[test], num_classes=4, shots=(1, 5), seeds=2)
    assert sorted(results) == [1, 5] and all(len(values) == 2 for values in results.values())
    for seed in range(2):
        chosen = shot_indices(class_permutations(y[train], 4, seed), 5)
        expected = fewshot_lsr_accuracy(x[train][chosen], y[train][chosen], x[test], y[test], num_classes=4)
        assert results[5][seed] == expected


def test_too_few_images_or_one_class_is_one_clear_error():
    counts = [3, 2, 3]
    with pytest.raises(FewShotInputError, match=r'--shots 3 needs 3 images in every class of train.*: b \(2\);'):
        check_enough_shots(counts, ['a', 'b', 'c'], shots=(1, 3), where='train')
    check_enough_shots(counts, ['a', 'b', 'c'], shots=(1, 2), where='train')
    with pytest.raises(FewShotInputError, match='at least 2 class folders'):
        check_enough_shots([5], ['a'], shots=(1,), where='train')


def test_mismatched_features_are_refused():
    x, y = toy_features(20, 4, num_classes=2)
    with pytest.raises(FewShotInputError, match='same model'):
        fewshot_lsr_accuracy(x, y, x[:, :3], y)
    with pytest.raises(FewShotInputError, match='integer class indices'):
        fewshot_lsr_accuracy(x, y.astype(float), x, y)
