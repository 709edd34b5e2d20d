"""The classical baseline reported beside every model: TF-IDF features + logistic regression.

Word unigrams and bigrams, sublinear term frequency; the inverse regularisation strength C is
chosen by stratified 5-fold cross-validation on the training texts (accuracy), then the model is
refit on all of them. scikit-learn does all of it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np

log = logging.getLogger("keras_applied.nlp")

C_GRID = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def tfidf_logistic_regression(
    train_texts: Sequence[str],
    train_labels: np.ndarray,
    test_texts: Sequence[str],
    *,
    seed: int = 0,
    c_grid: Sequence[float] = C_GRID,
    folds: int = 5,
) -> tuple[np.ndarray, dict[str, float]]:
    """Test-set class probabilities [N, C] and what was chosen (C, CV accuracy, seconds)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline

    started = time.perf_counter()
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        # liblinear is the fastest solver for two classes; lbfgs fits a true multinomial model.
        LogisticRegression(max_iter=2000, solver="liblinear" if len(np.unique(train_labels)) == 2 else "lbfgs"),
    )
    smallest_class = int(np.bincount(train_labels).min()) if len(train_labels) else 0
    folds = max(2, min(folds, smallest_class))
    search = GridSearchCV(
        pipeline,
        {"logisticregression__C": list(c_grid)},
        cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
        scoring="accuracy",
        n_jobs=1,
    )
    search.fit(list(train_texts), train_labels)
    probabilities = search.best_estimator_.predict_proba(list(test_texts))
    chosen = {
        "C": float(search.best_params_["logisticregression__C"]),
        "cv_accuracy": float(search.best_score_),
        "fit_seconds": round(time.perf_counter() - started, 1),
    }
    log.info("TF-IDF + logistic regression: C=%s (CV accuracy %.4f) in %.0f s", chosen["C"], chosen["cv_accuracy"],
             chosen["fit_seconds"])
    return probabilities, chosen
