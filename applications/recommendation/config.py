"""Recommendation settings and presets: rating prediction and retrieval in one config.

``--task rating`` predicts ratings (matrix factorisation with biases, a NeuMF-style network, or
both blended); ``--task retrieval`` trains a two-tower model with in-batch softmax and ranks the
whole catalogue. Presets (measured figures are in results/recommendation/ and the README):

- ``smoke``: one or two short epochs with small embeddings; seconds, for tests.
- ``quick``: ``keras-applied run recommendation --preset quick [--task retrieval]``; target on
  ml-latest-small (random 80/10/10, seed 0) test RMSE <= 0.85 in <= 5 minutes on 2 CPU cores;
  retrieval on the temporal split: recall@10 >= 2x the popularity baseline.
- ``full``: more epochs and patience; the same targets with more margin.
"""

from __future__ import annotations

import dataclasses

from common.config import ConfigError, RunConfig, option

DATASETS = ("auto", "movielens_latest_small", "movielens_100k", "csv")
TASKS = ("rating", "retrieval")
MODELS = ("auto", "mf", "neumf", "ensemble", "two_tower")
RATING_MODELS = ("mf", "neumf", "ensemble")
SPLITS = ("auto", "random", "temporal")


@dataclasses.dataclass(frozen=True)
class RecommendationConfig(RunConfig):
    dataset: str = option(
        "auto",
        "'movielens_latest_small' (ratings.csv + movies.csv under --data-dir, or TFDS "
        "movielens/latest-small-ratings online), 'movielens_100k' (u.data + u.item, or TFDS "
        "movielens/100k-ratings), 'csv' (your own --ratings-file), or 'auto' (latest-small, else 100k).",
        choices=DATASETS,
    )
    task: str = option(
        "rating",
        "'rating': predict ratings (RMSE/MAE); 'retrieval': rank the whole catalogue for each user "
        "(recall@k, NDCG@10).",
        choices=TASKS,
    )
    model: str = option(
        "auto",
        "Rating: 'mf' (biased matrix factorisation), 'neumf' (embeddings + MLP, NeuMF-style) or "
        "'ensemble' (both, blended by weights fitted on validation); retrieval: 'two_tower'. "
        "'auto': ensemble for rating, two_tower for retrieval.",
        choices=MODELS,
    )
    split: str = option(
        "auto",
        "'random' (80/10/10 of the ratings) or 'temporal' (per user, the last --holdout ratings are "
        "test and the --holdout before them validation). 'auto': random for rating, temporal for retrieval.",
        choices=SPLITS,
    )
    holdout: int = option(5, "Ratings per user held out for test (and as many for validation) in a temporal split.", minimum=1)
    rating_scale: tuple[float, float] = option(
        (0.5, 5.0), "Lowest and highest valid rating; rows outside are skipped and counted."
    )
    ratings_file: str | None = option(
        None, "--dataset csv: a CSV/TSV of (user, item, rating[, timestamp]) rows (a header row, or none as in u.data); "
        "its name names the results folder (results/recommendation/<file stem>/).", role="data"
    )
    items_file: str | None = option(
        None, "--dataset csv: optional CSV/TSV of items (id, title, genres separated by '|'), like movies.csv.", role="data"
    )
    delimiter: str | None = option(None, "Field separator of --ratings-file (default: guessed from the first line).")
    user_column: str | None = option(None, "User id column of --ratings-file (default: user, user_id, userId ...).")
    item_column: str | None = option(None, "Item id column (default: item, item_id, movieId ...).")
    rating_column: str | None = option(None, "Rating column (default: rating, score ...).")
    timestamp_column: str | None = option(None, "Timestamp column, seconds or dates (default: timestamp, time, date ...).")
    max_ratings: int = option(0, "Use a random subset of at most this many ratings (0: all); for smoke runs.", minimum=0)
    embedding_dim: int = option(64, "Size of user and item embeddings (factors).", minimum=1)
    embedding_l2: float | None = option(
        None,
        "L2 penalty on the embedding tables (and learned biases): the main regulariser of MF. "
        "None: 1e-4 for rating, 0 for retrieval (its in-batch negatives regularise it).",
        minimum=0.0,
    )
    mlp_widths: tuple[int, ...] = option((64, 32), "Hidden layer widths of the NeuMF MLP and of the retrieval towers.", minimum=1)
    dropout_rate: float | None = option(
        None, "Dropout in the MLP layers. None: 0.2 for rating (NeuMF), 0 for retrieval (the towers).", minimum=0.0
    )
    bias_l2: tuple[float, ...] = option(
        (1.0, 2.0, 5.0, 10.0, 20.0),
        "Regularisation values tried for the user+item bias baseline (the best on validation is kept); "
        "the rating models learn residuals on top of it.",
        minimum=0.0,
    )
    session_gap_hours: float = option(
        3.0,
        "Rating models: a user's ratings less than this many hours apart form a session with its own "
        "bias in the baseline (a time-aware baseline, Koren 2009); 0 turns session biases off.",
        minimum=0.0,
    )
    history_length: int = option(20, "Retrieval: how many of a user's previous items describe the user.", minimum=1)
    temperature: float = option(0.1, "Retrieval: softmax temperature on cosine similarities.", minimum=1e-4)
    logq_correction: bool = option(
        True, "Retrieval: subtract log item frequency from in-batch logits (popular items are sampled more as negatives)."
    )
    use_user_id: bool = option(False, "Retrieval: add a user-id embedding to the history in the query tower.")
    patience: int = option(3, "Stop after this many epochs without validation improvement (0: never).", minimum=0)

    def validate(self) -> None:
        super().validate()
        low, high = self.rating_scale
        if not low < high:
            raise ConfigError(f"RecommendationConfig.rating_scale must be (low, high) with low < high; received {self.rating_scale}.")
        if self.task == "rating" and self.model == "two_tower":
            raise ConfigError(f"--model two_tower is a retrieval model; with --task rating use one of {list(RATING_MODELS)}.")
        if self.task == "retrieval" and self.model in RATING_MODELS:
            raise ConfigError(f"--model {self.model} is a rating model; with --task retrieval use 'two_tower' (or 'auto').")
        if self.dropout_rate is not None and self.dropout_rate >= 1:
            raise ConfigError(f"RecommendationConfig.dropout_rate must be < 1; received {self.dropout_rate}.")
        if self.dataset == "csv" and not self.ratings_file:
            raise ConfigError("--dataset csv needs --ratings-file PATH (a CSV/TSV of user, item, rating[, timestamp]).")
        if self.dataset != "csv" and self.ratings_file:
            raise ConfigError(f"--ratings-file is read with --dataset csv; received --dataset {self.dataset}.")
        if not self.bias_l2:
            raise ConfigError("RecommendationConfig.bias_l2 needs at least one value.")

    # -- resolved choices ---------------------------------------------------------------------
    @property
    def resolved_model(self) -> str:
        if self.model != "auto":
            return self.model
        return "ensemble" if self.task == "rating" else "two_tower"

    @property
    def resolved_embedding_l2(self) -> float:
        if self.embedding_l2 is not None:
            return self.embedding_l2
        return 1e-4 if self.task == "rating" else 0.0

    @property
    def resolved_dropout_rate(self) -> float:
        if self.dropout_rate is not None:
            return self.dropout_rate
        return 0.2 if self.task == "rating" else 0.0

    @property
    def resolved_split(self) -> str:
        if self.split != "auto":
            return self.split
        return "random" if self.task == "rating" else "temporal"

    # -- presets --------------------------------------------------------------------------------
    @classmethod
    def smoke(cls) -> RecommendationConfig:
        return cls(preset="smoke", epochs=2, batch_size=256, learning_rate=3e-3, embedding_dim=8,
                   mlp_widths=(16,), history_length=5, patience=0, bias_l2=(2.0, 5.0))

    @classmethod
    def quick(cls) -> RecommendationConfig:
        return cls(preset="quick", epochs=20, batch_size=1024, learning_rate=3e-3)

    @classmethod
    def full(cls) -> RecommendationConfig:
        return cls(preset="full", epochs=60, batch_size=1024, learning_rate=2e-3, embedding_dim=128, patience=6)
