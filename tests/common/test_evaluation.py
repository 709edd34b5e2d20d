"""NumPy metrics against scikit-learn and direct formulas on random inputs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from common import evaluation

SEEDS = range(5)


@pytest.mark.parametrize("seed", SEEDS)
def test_classification_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, 5, 300), rng.integers(0, 5, 300)
    assert evaluation.accuracy(y_true, y_pred) == pytest.approx(sk.accuracy_score(y_true, y_pred))
    np.testing.assert_array_equal(evaluation.confusion_matrix(y_true, y_pred, 5), sk.confusion_matrix(y_true, y_pred, labels=range(5)))
    ours = evaluation.per_class_metrics(y_true, y_pred, 5)
    precision, recall, f1, support = sk.precision_recall_fscore_support(y_true, y_pred, labels=range(5), zero_division=0)
    np.testing.assert_allclose(ours["precision"], precision)
    np.testing.assert_allclose(ours["recall"], recall)
    np.testing.assert_allclose(ours["f1"], f1)
    np.testing.assert_array_equal(ours["support"], support)
    assert evaluation.macro_f1(y_true, y_pred, 5) == pytest.approx(sk.f1_score(y_true, y_pred, average="macro"))


def test_class_never_predicted_gets_zero_not_nan():
    report = evaluation.classification_report([0, 1, 2], [0, 0, 0], ["a", "b", "c"])
    assert report["per_class"]["b"]["precision"] == 0.0 and report["per_class"]["b"]["support"] == 1


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_ranking_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 400)
    scores = np.round(rng.random(400) + 0.3 * y, 1)  # rounded: many ties
    assert evaluation.roc_auc(y, scores) == pytest.approx(sk.roc_auc_score(y, scores))
    assert evaluation.average_precision(y, scores) == pytest.approx(sk.average_precision_score(y, scores))
    fpr, tpr, _ = evaluation.roc_curve(y, scores)
    sk_fpr, sk_tpr, _ = sk.roc_curve(y, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)


def test_roc_auc_is_nan_for_one_class():
    assert np.isnan(evaluation.roc_auc([1, 1, 1], [0.1, 0.5, 0.9]))


@pytest.mark.parametrize("seed", SEEDS)
def test_regression_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y, p = rng.normal(size=200), rng.normal(size=200)
    assert evaluation.mae(y, p) == pytest.approx(sk.mean_absolute_error(y, p))
    assert evaluation.rmse(y, p) == pytest.approx(np.sqrt(sk.mean_squared_error(y, p)))
    assert evaluation.r2(y, p) == pytest.approx(sk.r2_score(y, p))


@pytest.mark.parametrize("seed", SEEDS)
def test_ranking_metrics_match_sklearn_ndcg_and_direct_recall(seed):
    rng = np.random.default_rng(seed)
    num_items, k = 30, 10
    relevance = rng.random((20, num_items)) < 0.15
    relevance[0] = False  # a query without relevant items is skipped
    scores = rng.random((20, num_items))
    ranked = np.argsort(-scores, axis=1)
    relevant = [set(np.flatnonzero(row)) for row in relevance]
    mask = relevance.any(axis=1)
    expected_recall = np.mean([len(set(ranked[i, :k]) & relevant[i]) / len(relevant[i]) for i in np.flatnonzero(mask)])
    assert evaluation.recall_at_k(ranked, relevant, k) == pytest.approx(expected_recall)
    assert evaluation.ndcg_at_k(ranked, relevant, k) == pytest.approx(sk.ndcg_score(relevance[mask], scores[mask], k=k))


def test_forecast_metrics():
    y_train = np.array([1.0, 2, 4, 7, 11])
    y_true, y_pred = np.array([[12.0, 13], [14, 15]]), np.array([[11.0, 13], [15, 13]])
    report = evaluation.forecast_report(y_true, y_pred, y_train)
    assert report["mae"] == pytest.approx(1.0)
    assert report["mase"] == pytest.approx(1.0 / np.mean([1, 2, 3, 4]))
    assert report["per_step"]["mae"] == pytest.approx([1.0, 1.0])
    expected_smape = 100 * np.mean(2 * np.abs(y_pred - y_true) / (np.abs(y_true) + np.abs(y_pred)))
    assert report["smape"] == pytest.approx(expected_smape)
    assert evaluation.smape([0.0], [0.0]) == 0.0
    with pytest.raises(ValueError, match="longer than the season"):
        evaluation.mase([1.0], [1.0], [1.0, 2.0], season=2)


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 3))
    assert evaluation.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    # Same covariance, mean shifted by d: the distance is |d|^2.
    shift = np.array([1.0, -2.0, 0.5])
    assert evaluation.frechet_distance(a, a + shift) == pytest.approx(float(shift @ shift), rel=1e-9)
    # Scaled by s (zero mean, identity-like covariance C): Tr(C)(1 - s)^2.
    cov_trace = np.trace(np.cov(a, rowvar=False))
    assert evaluation.frechet_distance(a - a.mean(0), 3 * (a - a.mean(0))) == pytest.approx(cov_trace * 4, rel=1e-6)
    with pytest.raises(ValueError, match="same d"):
        evaluation.frechet_distance(a, a[:, :2])
