"""Metrics in plain NumPy: classification, regression, ranking and forecasting.

Each function is tested against an independent reference (scikit-learn or a direct formula) on
random inputs. They take NumPy arrays (or anything ``np.asarray`` accepts) and return floats or
arrays, so they work on predictions from any backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


# ---------------------------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------------------------
def accuracy(y_true, y_pred) -> float:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean(y_true == y_pred)) if y_true.size else float("nan")


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts with true classes as rows and predicted classes as columns."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1)) + 1)
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def per_class_metrics(y_true, y_pred, num_classes: int | None = None) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class (0 where a ratio is undefined, like sklearn)."""
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    true_positive = np.diag(matrix).astype(float)
    predicted = matrix.sum(axis=0).astype(float)
    support = matrix.sum(axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positive / predicted, 0.0)
        recall = np.where(support > 0, true_positive / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support.astype(int)}


def macro_f1(y_true, y_pred, num_classes: int | None = None) -> float:
    return float(np.mean(per_class_metrics(y_true, y_pred, num_classes)["f1"]))


def classification_report(
    y_true, y_pred, class_names: Sequence[str]
) -> dict[str, object]:
    """Accuracy, macro-F1 and per-class metrics keyed by class name (JSON-ready)."""
    num_classes = len(class_names)
    per_class = per_class_metrics(y_true, y_pred, num_classes)
    return {
        "accuracy": accuracy(y_true, y_pred),
        "macro_f1": float(np.mean(per_class["f1"])),
        "per_class": {
            str(name): {key: float(per_class[key][i]) for key in ("precision", "recall", "f1")}
            | {"support": int(per_class["support"][i])}
            for i, name in enumerate(class_names)
        },
    }


def _binary_inputs(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true).astype(bool).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if y_true.shape != scores.shape:
        raise ValueError(f"Expected labels and scores of equal length; received {y_true.shape} and {scores.shape}.")
    return y_true, scores


def roc_auc(y_true, scores) -> float:
    """Area under the ROC curve (Mann-Whitney U with mid-ranks for ties); NaN for one class."""
    y_true, scores = _binary_inputs(y_true, scores)
    positives, negatives = int(y_true.sum()), int((~y_true).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    # Mid-ranks: tied scores share the mean of the ranks they span.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    mid = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(mid, counts)
    return float((ranks[y_true].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def roc_curve(y_true, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False-positive rates, true-positive rates and thresholds, from (0, 0) to (1, 1)."""
    y_true, scores = _binary_inputs(y_true, scores)
    order = np.argsort(-scores, kind="mergesort")
    scores, y_true = scores[order], y_true[order]
    # One point per distinct threshold (the last index of each run of equal scores).
    distinct = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_positives = np.cumsum(y_true)[distinct]
    false_positives = (distinct + 1) - true_positives
    tpr = np.r_[0.0, true_positives / max(true_positives[-1], 1)]
    fpr = np.r_[0.0, false_positives / max(false_positives[-1], 1)]
    thresholds = np.r_[np.inf, scores[distinct]]
    return fpr, tpr, thresholds


def average_precision(y_true, scores) -> float:
    """Area under the precision-recall curve as sklearn's step-wise average precision."""
    y_true, scores = _binary_inputs(y_true, scores)
    if not y_true.any():
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    scores, y_true = scores[order], y_true[order]
    distinct = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_positives = np.cumsum(y_true)[distinct]
    precision = true_positives / (distinct + 1)
    recall = true_positives / true_positives[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


# ---------------------------------------------------------------------------------------------
# Regression
# ---------------------------------------------------------------------------------------------
def mae(y_true, y_pred) -> float:
    return float(np.mean(np.abs(np.asarray(y_true, float) - np.asarray(y_pred, float))))


def rmse(y_true, y_pred) -> float:
    return float(np.sqrt(np.mean((np.asarray(y_true, float) - np.asarray(y_pred, float)) ** 2)))


def r2(y_true, y_pred) -> float:
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    total = np.sum((y_true - y_true.mean()) ** 2)
    return float(1.0 - np.sum((y_true - y_pred) ** 2) / total) if total > 0 else float("nan")


def regression_report(y_true, y_pred) -> dict[str, float]:
    return {"rmse": rmse(y_true, y_pred), "mae": mae(y_true, y_pred), "r2": r2(y_true, y_pred)}


# ---------------------------------------------------------------------------------------------
# Ranking (one row per query; ``relevant`` is a boolean matrix or a list of item-id sets)
# ---------------------------------------------------------------------------------------------
def _relevance(ranked_items: np.ndarray, relevant: Sequence[set] | np.ndarray) -> np.ndarray:
    """Boolean [queries, k]: is the item at each rank relevant to its query."""
    ranked_items = np.asarray(ranked_items)
    return np.array(
        [[item in truth for item in row] for row, truth in zip(ranked_items, relevant)], dtype=bool
    ).reshape(ranked_items.shape)


def recall_at_k(ranked_items, relevant: Sequence[set], k: int) -> float:
    """Mean over queries of |top-k ∩ relevant| / |relevant| (queries without relevant items skipped)."""
    hits = _relevance(np.asarray(ranked_items)[:, :k], relevant).sum(axis=1)
    sizes = np.array([len(truth) for truth in relevant], dtype=float)
    mask = sizes > 0
    return float(np.mean(hits[mask] / sizes[mask])) if mask.any() else float("nan")


def ndcg_at_k(ranked_items, relevant: Sequence[set], k: int) -> float:
    """Mean NDCG@k with binary relevance (queries without relevant items skipped)."""
    gains = _relevance(np.asarray(ranked_items)[:, :k], relevant).astype(float)
    discounts = 1.0 / np.log2(np.arange(2, gains.shape[1] + 2))
    dcg = gains @ discounts
    sizes = np.array([min(len(truth), k) for truth in relevant])
    ideal = np.array([discounts[:n].sum() for n in sizes])
    mask = sizes > 0
    return float(np.mean(dcg[mask] / ideal[mask])) if mask.any() else float("nan")


# ---------------------------------------------------------------------------------------------
# Forecasting
# ---------------------------------------------------------------------------------------------
def smape(y_true, y_pred) -> float:
    """Symmetric MAPE in percent, 0..200 (terms where both values are 0 count as 0)."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    denominator = np.abs(y_true) + np.abs(y_pred)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(denominator > 0, 2.0 * np.abs(y_pred - y_true) / denominator, 0.0)
    return float(100.0 * np.mean(terms))


def mase(y_true, y_pred, y_train, season: int = 1) -> float:
    """MAE scaled by the in-sample MAE of the seasonal naive forecast on the training series."""
    y_train = np.asarray(y_train, float)
    if len(y_train) <= season:
        raise ValueError(f"MASE needs a training series longer than the season ({season}); received {len(y_train)} values.")
    scale = np.mean(np.abs(y_train[season:] - y_train[:-season]))
    return mae(y_true, y_pred) / scale if scale > 0 else float("nan")


def forecast_report(y_true, y_pred, y_train, season: int = 1) -> dict[str, object]:
    """MAE, RMSE, MASE and sMAPE overall and per horizon step (arrays shaped [windows, horizon])."""
    y_true = np.asarray(y_true, float).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, float).reshape(len(y_pred), -1)
    per_step = {
        name: [float(fn(y_true[:, h], y_pred[:, h])) for h in range(y_true.shape[1])]
        for name, fn in (("mae", mae), ("rmse", rmse), ("smape", smape))
    }
    per_step["mase"] = [mase(y_true[:, h], y_pred[:, h], y_train, season) for h in range(y_true.shape[1])]
    overall = {
        "mae": mae(y_true, y_pred),
        "rmse": rmse(y_true, y_pred),
        "smape": smape(y_true, y_pred),
        "mase": mase(y_true, y_pred, y_train, season),
    }
    return {**overall, "per_step": per_step}


# ---------------------------------------------------------------------------------------------
# Generative models
# ---------------------------------------------------------------------------------------------
def frechet_distance(features_a, features_b) -> float:
    """Frechet distance between Gaussians fitted to two sets of feature vectors ([n, d] each).

    ``|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``, the formula of the FID (Heusel et
    al. 2017); ``Tr((S_a S_b)^(1/2))`` is computed as the trace of the square root of the
    symmetric ``S_a^(1/2) S_b S_a^(1/2)``, whose eigenvalues are real and non-negative.
    """
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"frechet_distance expects two [n, d] arrays of the same d; received {a.shape} and {b.shape}.")
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)

    def sqrt_psd(matrix: np.ndarray) -> np.ndarray:
        values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
        return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T

    root_a = sqrt_psd(cov_a)
    middle = np.linalg.eigvalsh((root_a @ cov_b @ root_a + (root_a @ cov_b @ root_a).T) / 2)
    trace_sqrt = float(np.sqrt(np.clip(middle, 0, None)).sum())
    value = float(((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt)
    return max(value, 0.0)
