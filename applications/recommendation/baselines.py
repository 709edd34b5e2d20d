"""Baselines reported beside every model, fitted on the same training split.

- global mean: every rating predicted as the training mean;
- user + item biases: r = mu + b_u + b_i, fitted by alternating closed-form ridge updates
  (each update is exact given the other biases), regularisation chosen on validation;
- user + item + session biases: the same with one more bias per rating session (a user's
  ratings less than a few hours apart), Koren's time-aware baseline. The rating models learn
  their residual on top of this one;
- popularity (retrieval): items ranked by how often they were rated in training.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Sequence

import numpy as np

from common import evaluation

log = logging.getLogger("keras_applied.recommendation")


@dataclasses.dataclass
class BiasModel:
    """mu + b_u + b_i (+ b_session): arrays indexed like the interactions (session 0 = unknown)."""

    global_mean: float
    user_bias: np.ndarray  # float64 [num_users]
    item_bias: np.ndarray  # float64 [num_items]
    session_bias: np.ndarray | None = None  # float64 [num_sessions + 1], entry 0 is 0 (unknown session)
    regularization: dict[str, float] = dataclasses.field(default_factory=dict)

    def predict(self, user, item, session=None, rating_scale: tuple[float, float] | None = None) -> np.ndarray:
        prediction = self.global_mean + self.user_bias[user] + self.item_bias[item]
        if self.session_bias is not None and session is not None:
            prediction = prediction + self.session_bias[session]
        return np.clip(prediction, *rating_scale) if rating_scale else prediction


def fit_biases(
    user: np.ndarray, item: np.ndarray, rating: np.ndarray, *, num_users: int, num_items: int,
    user_l2: float, item_l2: float, session: np.ndarray | None = None, num_sessions: int = 0,
    session_l2: float = 10.0, iterations: int = 15,
) -> BiasModel:
    """Ridge-regularised biases by alternating exact updates: b_i = sum(residual) / (l2 + count).

    ``session``: session index per rating (1..num_sessions; 0 = none), adding one bias per session.
    """
    rating = rating.astype(np.float64)
    mean = float(rating.mean())
    user_bias, item_bias = np.zeros(num_users), np.zeros(num_items)
    session_bias = np.zeros(num_sessions + 1) if session is not None else None
    user_counts = np.bincount(user, minlength=num_users)
    item_counts = np.bincount(item, minlength=num_items)
    session_counts = np.bincount(session, minlength=num_sessions + 1) if session is not None else None

    def others(exclude: str) -> np.ndarray:
        total = np.full(len(rating), mean)
        if exclude != "user":
            total += user_bias[user]
        if exclude != "item":
            total += item_bias[item]
        if session_bias is not None and exclude != "session":
            total += session_bias[session]
        return rating - total

    for _ in range(iterations):
        item_bias = np.bincount(item, others("item"), num_items) / (item_l2 + item_counts)
        user_bias = np.bincount(user, others("user"), num_users) / (user_l2 + user_counts)
        if session_bias is not None:
            session_bias = np.bincount(session, others("session"), num_sessions + 1) / (session_l2 + session_counts)
            session_bias[0] = 0.0
    regularization = {"user_l2": user_l2, "item_l2": item_l2}
    if session_bias is not None:
        regularization["session_l2"] = session_l2
    return BiasModel(mean, user_bias, item_bias, session_bias, regularization)


def select_biases(
    train: dict[str, np.ndarray], validation: dict[str, np.ndarray], *, num_users: int, num_items: int,
    grid: Sequence[float], rating_scale: tuple[float, float], num_sessions: int = 0,
) -> BiasModel:
    """The bias model whose regularisation (from ``grid``) gives the lowest validation RMSE.

    User and item strengths are searched together; with sessions (``num_sessions`` > 0 and a
    ``session`` array in the splits), the session strength is searched after, with them fixed.
    """
    def score(model: BiasModel) -> float:
        predicted = model.predict(validation["user"], validation["item"], validation.get("session"), rating_scale)
        return evaluation.rmse(validation["rating"], predicted)

    best, best_rmse = None, np.inf
    for user_l2, item_l2 in itertools.product(grid, grid):
        model = fit_biases(train["user"], train["item"], train["rating"], num_users=num_users, num_items=num_items,
                           user_l2=user_l2, item_l2=item_l2)
        value = score(model)
        if value < best_rmse:
            best, best_rmse = model, value
    if num_sessions and "session" in train:
        plain = best
        best, best_rmse = None, np.inf
        for session_l2 in grid:
            model = fit_biases(train["user"], train["item"], train["rating"], num_users=num_users, num_items=num_items,
                               user_l2=plain.regularization["user_l2"], item_l2=plain.regularization["item_l2"],
                               session=train["session"], num_sessions=num_sessions, session_l2=session_l2)
            value = score(model)
            if value < best_rmse:
                best, best_rmse = model, value
    log.info("bias baseline: regularisation %s, validation RMSE %.4f", best.regularization, best_rmse)
    return best


def popularity(item: np.ndarray, num_items: int) -> np.ndarray:
    """Rating counts per item (float64 [num_items]): the popularity baseline's scores."""
    return np.bincount(item, minlength=num_items).astype(np.float64)
