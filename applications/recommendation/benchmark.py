"""``keras-applied benchmark recommendation``: training examples/s and top-k queries/s.

One run measures, on this machine and backend, with the preset's sizes:

- training throughput (examples/s) of biased MF, NeuMF and the two-tower model (in-batch
  softmax), under each requested dtype policy;
- brute-force top-k over the full catalogue with keras-rs ``BruteForceRetrieval``: queries/s for
  single queries (an online request) and for batches of queries (offline scoring), k = 10 and 100.

The data are MovieLens latest-small where found (``--data-dir`` / $KERAS_APPLIED_DATA_DIR);
otherwise random interactions of the same sizes (throughput depends on sizes, not on values).
Figures go to results/benchmarks/recommendation.json with the environment.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from common import cli

POLICIES = ("float32", "mixed_bfloat16")


def _interactions(data_dir: str | None):
    import numpy as np

    from applications.recommendation import data
    from common.data import DataNotFoundError

    try:
        return data.load("movielens_latest_small", data_dir=data_dir), "movielens_latest_small"
    except DataNotFoundError:
        rng = np.random.default_rng(0)
        count, users, items = 100_836, 610, 9_724
        return data.Interactions(
            name="random", source="generated", users=np.arange(users).astype(str), items=np.arange(items).astype(str),
            user=rng.integers(0, users, count).astype(np.int32), item=rng.zipf(1.3, count).astype(np.int32) % items,
            rating=rng.uniform(0.5, 5, count).astype(np.float32), timestamp=np.arange(count, dtype=np.int64),
            titles=[f"Movie {i} (199{i % 10})" for i in range(items)], genres=[["Drama"]] * items, rating_scale=(0.5, 5.0),
        ), "random (ml-latest-small sizes)"


def _time_training(model, dataset, steps: int, batch_size: int, warmup: int = 3) -> dict[str, float]:
    """Examples/s of ``model.fit`` over ``steps`` steps after ``warmup`` ones.

    Like ``common.benchmark.time_training``, which reads the batch size from the first input
    tensor and so cannot take the dict-of-features batches these models use.
    """
    import keras

    class StepTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []

        def on_train_batch_end(self, batch, logs=None) -> None:
            self.times.append(time.perf_counter())

    timer = StepTimer()
    model.fit(dataset, epochs=1, steps_per_epoch=steps + warmup, callbacks=[timer], verbose=0)
    elapsed = timer.times[-1] - timer.times[warmup - 1]
    return {"examples_per_second": steps * batch_size / elapsed, "seconds_per_step": elapsed / steps, "batch_size": batch_size}


def _time_queries(retrieval, queries, repeats: int) -> float:
    """Queries/s of ``retrieval`` on ``queries`` (best of ``repeats`` after a warm-up)."""
    import keras

    keras.ops.convert_to_numpy(retrieval(queries))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        keras.ops.convert_to_numpy(retrieval(queries))
        best = min(best, time.perf_counter() - start)
    return len(queries) / best


def measure(preset: str, data_dir: str | None, steps: int, policies: Sequence[str]) -> dict:
    import keras
    import keras_rs
    import numpy as np

    from applications.recommendation import baselines, data, models, train
    from applications.recommendation.config import RecommendationConfig
    from common import training

    interactions, data_name = _interactions(data_dir)
    config = RecommendationConfig.from_preset(preset)
    rating_config = config.replace(task="rating")
    retrieval_config = config.replace(task="retrieval")
    figures: dict = {"data": data_name, "ratings": len(interactions), "catalogue_items": interactions.num_items,
                     "batch_size": config.batch_size, "embedding_dim": config.embedding_dim, "training": {}}
    rows = np.arange(len(interactions))
    rating_inputs = {"user": interactions.user, "item": interactions.item, "session": np.zeros(len(rows), np.int32)}
    rating_ds = data.rating_pipeline(rating_inputs, interactions.rating, batch_size=config.batch_size, shuffle=True).repeat()
    order, histories = data.history_matrix(interactions.user, interactions.item, interactions.timestamp, config.history_length)
    retrieval_inputs = {"user": interactions.user[order], "history": histories, "item": interactions.item[order]}
    retrieval_ds = data.retrieval_pipeline(retrieval_inputs, batch_size=config.batch_size, shuffle=True).repeat()
    features = data.item_features(interactions)
    bias = baselines.BiasModel(float(interactions.rating.mean()), np.zeros(interactions.num_users), np.zeros(interactions.num_items))
    probability = baselines.popularity(interactions.item, interactions.num_items) / len(interactions)

    for policy in policies:
        with training.run_session(seed=0, precision_name=policy):
            for name in ("mf", "neumf"):
                model = train.build_rating_model(name, rating_config, interactions.num_users, interactions.num_items, 0)
                models.set_baseline(model, bias)
                train.compile_rating_model(model, rating_config)
                figures["training"][f"{name}_{policy}"] = _time_training(model, rating_ds, steps, config.batch_size)
            candidate = models.build_candidate_tower(
                num_items=interactions.num_items, genres=features.genres, title_tokens=features.title_tokens,
                year_buckets=features.year_buckets, vocabulary_size=len(features.token_vocabulary),
                num_year_buckets=len(features.year_bucket_names), embedding_dim=config.embedding_dim, widths=config.mlp_widths)
            query = models.build_query_tower(num_users=interactions.num_users, num_items=interactions.num_items,
                                             history_length=config.history_length, embedding_dim=config.embedding_dim,
                                             widths=config.mlp_widths)
            two_tower = models.build_two_tower(query_tower=query, candidate_tower=candidate, item_probability=probability,
                                               temperature=retrieval_config.temperature)
            two_tower.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=models.in_batch_softmax_loss)
            figures["training"][f"two_tower_{policy}"] = _time_training(two_tower, retrieval_ds, steps, config.batch_size)

    # Top-k over the whole catalogue: float32 embeddings of the trained-size candidate tower.
    rng = np.random.default_rng(0)
    catalogue = rng.normal(size=(interactions.num_items, config.embedding_dim)).astype(np.float32)
    figures["top_k"] = {}
    for k in (10, 100):
        retrieval = keras_rs.layers.BruteForceRetrieval(catalogue, k=k, return_scores=False)
        for batch in (1, 256):
            queries = rng.normal(size=(batch, config.embedding_dim)).astype(np.float32)
            figures["top_k"][f"k{k}_batch{batch}_queries_per_second"] = _time_queries(retrieval, queries, repeats=20 if batch == 1 else 5)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    cli.configure_process()
    parser = cli.ArgumentParser(
        prog="keras-applied benchmark recommendation",
        description="Measure training examples/s (MF, NeuMF, two-tower; float32 and mixed_bfloat16) and "
        "brute-force top-k queries/s over the full catalogue; writes results/benchmarks/recommendation.json.",
    )
    parser.add_argument("--preset", default="quick", choices=["smoke", "quick", "full"], help="Whose sizes (batch, embedding) to measure.")
    parser.add_argument("--data-dir", default=None, help="Local data folder (default $KERAS_APPLIED_DATA_DIR).")
    parser.add_argument("--steps", type=int, default=50, help="Training steps timed per model and dtype (after 3 warm-up steps).")
    parser.add_argument("--precision", nargs="+", default=list(POLICIES), choices=list(POLICIES), help="Dtype policies to measure.")
    parser.add_argument("--results-dir", default=None, help="Results root (default ./results).")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be >= 1; received {args.steps}.")
    from common import results

    figures = measure(args.preset, args.data_dir, args.steps, args.precision)
    results.write_benchmark("recommendation", figures, args.results_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
