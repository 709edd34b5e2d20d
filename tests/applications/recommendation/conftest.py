"""Small synthetic ratings in the MovieLens layouts, with structure a model can learn.

60 users and 90 movies in three genre clusters; every user prefers one cluster, rates mostly
its movies (high) and a few others (low), one movie after another in time, so both rating
prediction and next-item retrieval have signal to find.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

GENRES = ("Comedy", "Drama", "Sci-Fi")
WORDS = ("love", "star", "night", "city", "war", "dream", "river", "ghost", "king")


def synthetic_ratings(num_users: int = 60, num_items: int = 90, per_user: int = 24, seed: int = 0):
    rng = np.random.default_rng(seed)
    cluster_of_item = np.arange(num_items) % len(GENRES)
    rows = []
    for user in range(1, num_users + 1):
        liked = user % len(GENRES)
        own = np.flatnonzero(cluster_of_item == liked)
        other = np.flatnonzero(cluster_of_item != liked)
        chosen = np.r_[rng.choice(own, per_user - 4, replace=False), rng.choice(other, 4, replace=False)]
        rng.shuffle(chosen)
        start = 1_000_000_000 + user * 10_000
        for step, item in enumerate(chosen):
            base = 4.5 if cluster_of_item[item] == liked else 1.5
            rating = float(np.clip(np.round((base + rng.normal(0, 0.4)) * 2) / 2, 0.5, 5.0))
            rows.append((user, int(item) + 1, rating, start + step * 60))
    ratings = pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"])
    movies = pd.DataFrame({
        "movieId": np.arange(1, num_items + 1),
        "title": [f"{WORDS[i % len(WORDS)].title()} {WORDS[(i // 3) % len(WORDS)]} {i} ({1950 + i % 60})" for i in range(num_items)],
        "genres": [GENRES[c] + ("|Romance" if i % 7 == 0 else "") for i, c in enumerate(cluster_of_item)],
    })
    return ratings, movies


@pytest.fixture(scope="session")
def movielens_dir(tmp_path_factory):
    """A data root holding recommendation/ml-latest-small/{ratings,movies}.csv (synthetic)."""
    root = tmp_path_factory.mktemp("recommendation_data")
    folder = root / "recommendation" / "ml-latest-small"
    folder.mkdir(parents=True)
    ratings, movies = synthetic_ratings()
    ratings.to_csv(folder / "ratings.csv", index=False)
    movies.to_csv(folder / "movies.csv", index=False)
    return root
