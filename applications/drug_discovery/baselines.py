"""The baseline a chemist would try first: a random forest on Morgan fingerprint bits.

One forest per task, trained on the molecules that have a label for it (so multitask data with
missing labels works), with scikit-learn's defaults apart from the number of trees.
"""

from __future__ import annotations

import numpy as np


def random_forest_predictions(
    fingerprints: np.ndarray,
    targets: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    *,
    task_type: str,
    trees: int = 500,
    seed: int = 0,
    jobs: int | None = None,
) -> np.ndarray:
    """Test-set predictions [len(test), tasks]: values (regression) or P(label = 1) (classification)."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    predictions = np.full((len(test), targets.shape[1]), np.nan, dtype=np.float64)
    for task in range(targets.shape[1]):
        labelled = train[~np.isnan(targets[train, task])]
        if len(labelled) == 0:
            continue
        y = targets[labelled, task]
        if task_type == "classification":
            if len(np.unique(y)) < 2:  # one class only: predict its frequency
                predictions[:, task] = float(y.mean())
                continue
            forest = RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=jobs)
            forest.fit(fingerprints[labelled], y.astype(int))
            predictions[:, task] = forest.predict_proba(fingerprints[test])[:, list(forest.classes_).index(1)]
        else:
            forest = RandomForestRegressor(n_estimators=trees, random_state=seed, n_jobs=jobs)
            forest.fit(fingerprints[labelled], y)
            predictions[:, task] = forest.predict(fingerprints[test])
    return predictions
