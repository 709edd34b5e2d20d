"""Ranking the catalogue, ranking metrics and the recommendation figures.

Top-k over the whole catalogue uses keras-rs ``BruteForceRetrieval`` (exact scores for every
item). Items a user has already rated must not be recommended again, and the layer cannot mask
per query, so it retrieves ``k`` plus as many items as the user has rated and the ones already
seen are dropped afterwards: still exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from common import evaluation

RECALL_CURVE_KS = (1, 2, 5, 10, 20, 50, 100, 200)


def items_by_user(user: np.ndarray, item: np.ndarray, num_users: int) -> list[np.ndarray]:
    """For each user index, the sorted unique item indices they rated among these rows."""
    order = np.lexsort((item, user))
    cuts = np.searchsorted(user[order], np.arange(num_users + 1))
    return [np.unique(item[order][cuts[u] : cuts[u + 1]]) for u in range(num_users)]


def top_k_excluding(
    query_embeddings: np.ndarray, candidate_embeddings: np.ndarray, k: int, exclude: Sequence[np.ndarray],
    batch_size: int = 256,
) -> np.ndarray:
    """Item indices [num_queries, k] of the highest dot-product scores, minus each query's ``exclude``."""
    import keras
    import keras_rs

    num_items = len(candidate_embeddings)
    k = min(k, num_items)
    depth = min(num_items, k + max((len(e) for e in exclude), default=0))
    retrieval = keras_rs.layers.BruteForceRetrieval(candidate_embeddings.astype(np.float32), k=depth, return_scores=False)
    ranked = np.zeros((len(query_embeddings), k), np.int64)
    for start in range(0, len(query_embeddings), batch_size):
        block = keras.ops.convert_to_numpy(retrieval(query_embeddings[start : start + batch_size].astype(np.float32)))
        for row, candidates in enumerate(block, start=start):
            ranked[row] = _drop_seen(candidates, exclude[row], k)
    return ranked


def top_k_by_scores(scores: np.ndarray, k: int, exclude: Sequence[np.ndarray]) -> np.ndarray:
    """The same for one score vector shared by every query (popularity): [num_queries, k]."""
    depth = min(len(scores), k + max((len(e) for e in exclude), default=0))
    order = np.argsort(-scores, kind="stable")[:depth]
    return np.stack([_drop_seen(order, seen, min(k, len(scores))) for seen in exclude]) if exclude else np.zeros((0, k), int)


def _drop_seen(candidates: np.ndarray, seen: np.ndarray, k: int) -> np.ndarray:
    kept = candidates[~np.isin(candidates, seen)][:k]
    if len(kept) < k:  # a user who rated nearly everything: pad with -1 (never relevant)
        kept = np.r_[kept, np.full(k - len(kept), -1)]
    return kept


def ranking_metrics(ranked: np.ndarray, relevant: Sequence[set], ks: Sequence[int] = RECALL_CURVE_KS) -> dict[str, float]:
    """recall@k for every k in ``ks`` (that the ranking is deep enough for) and NDCG@10."""
    metrics = {f"recall_at_{k}": evaluation.recall_at_k(ranked, relevant, k) for k in ks if k <= ranked.shape[1]}
    metrics["ndcg_at_10"] = evaluation.ndcg_at_k(ranked, relevant, 10)
    return metrics


def rmse_by_activity(user_counts: np.ndarray, user: np.ndarray, truth: np.ndarray, predictions: dict[str, np.ndarray]) -> list[dict]:
    """Test RMSE per bucket of how many training ratings the user has (cold users first)."""
    edges = [0, 1, 20, 50, 100, 250, 500, np.inf]
    counts = user_counts[user]
    rows = []
    for low, high in zip(edges[:-1], edges[1:]):
        mask = (counts >= low) & (counts < high)
        if not mask.any():
            continue
        label = f"{low}" if high == low + 1 else (f"{low}+" if np.isinf(high) else f"{low}-{int(high) - 1}")
        rows.append({"user_training_ratings": label, "test_ratings": int(mask.sum()),
                     **{f"rmse_{name}": evaluation.rmse(truth[mask], p[mask]) for name, p in predictions.items()}})
    return rows


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------
def project_2d(vectors: np.ndarray) -> np.ndarray:
    """PCA to two dimensions (centred SVD): [n, D] -> [n, 2]."""
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    return centred @ components[:2].T


def embedding_projection(
    vectors: np.ndarray, genres: Sequence[Sequence[str]], *, title: str, max_genres: int = 8
) -> Figure:
    """Items in the first two principal components of their embeddings, coloured by genre.

    Each item takes the rarest of its genres among the ``max_genres`` most common ones (items with
    none of them are grey): "Animation" says more about a film than "Comedy" does, so
    similar-taste regions show up as colour clusters.
    """
    points = project_2d(np.asarray(vectors, np.float64))
    counts: dict[str, int] = {}
    for item_genres in genres:
        for genre in item_genres:
            counts[genre] = counts.get(genre, 0) + 1
    shown = sorted(counts, key=lambda g: (-counts[g], g))[:max_genres]
    labels = [min((g for g in item_genres if g in shown), key=lambda g: counts[g], default="other") for item_genres in genres]
    figure = Figure(figsize=(7, 5.5), layout="constrained")
    axis = figure.subplots()
    colours = dict(zip(shown, [f"C{j}" for j in range(len(shown))]))
    for genre in ["other", *shown]:
        mask = np.array([label == genre for label in labels])
        if mask.any():
            axis.scatter(points[mask, 0], points[mask, 1], s=6, alpha=0.35 if genre == "other" else 0.6,
                         color="lightgrey" if genre == "other" else colours[genre], label=f"{genre} ({int(mask.sum())})")
    axis.set_xlabel("principal component 1")
    axis.set_ylabel("principal component 2")
    axis.set_title(title)
    axis.legend(fontsize=7, markerscale=2, loc="best")
    return figure
