"""Train and evaluate a recommender: the one entry point for the CLI, notebook and tests.

``--task rating``: fit the bias baselines, train MF and/or NeuMF on the residual, blend them by
validation, report RMSE/MAE beside the baselines. ``--task retrieval``: train the two-tower
model with in-batch softmax, rank the whole catalogue for every test user, report recall@k and
NDCG@10 beside popularity.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import keras
import numpy as np

from applications.recommendation import baselines, data, evaluate, models
from applications.recommendation.config import RecommendationConfig
from common import evaluation, paths, plots, results, saving, training

DOMAIN = "recommendation"
log = logging.getLogger("keras_applied.recommendation")
PREDICT_BATCH = 8192


def run_name(config: RecommendationConfig) -> str:
    """Results folder name: ``<preset>-<task>``, plus the split and model when not the task's default,
    then the values changed from the preset or the run tag."""
    default_split = "random" if config.task == "rating" else "temporal"
    default_model = "ensemble" if config.task == "rating" else "two_tower"
    return config.run_name(
        config.task,
        config.resolved_split if config.resolved_split != default_split else "",
        config.resolved_model if config.resolved_model != default_model else "",
        named=("task", "split", "model"),
    )


# ---------------------------------------------------------------------------------------------
# Rating prediction
# ---------------------------------------------------------------------------------------------
def build_rating_model(name: str, config: RecommendationConfig, num_users: int, num_items: int, num_sessions: int) -> keras.Model:
    common_args = dict(num_users=num_users, num_items=num_items, num_sessions=num_sessions, embedding_dim=config.embedding_dim,
                       embedding_l2=config.resolved_embedding_l2)
    if name == "mf":
        return models.build_matrix_factorization(**common_args)
    return models.build_neumf(**common_args, mlp_widths=config.mlp_widths, dropout_rate=config.resolved_dropout_rate)


def _learning_rate(config: RecommendationConfig) -> float:
    """The learning rate, scaled if a distribution had to adjust the global batch size."""
    session = training.current_session()
    return session.learning_rate(config.learning_rate, config.batch_size) if session else config.learning_rate


def _batch_size(requested: int) -> int:
    """The global batch size for pipelines (a multiple of the replica count under a strategy)."""
    session = training.current_session()
    return session.batch_size(requested) if session else requested


def predict_arrays(model: keras.Model, inputs: Any, batch_size: int = PREDICT_BATCH) -> Any:
    """``training.predict`` over arrays (or a dict of arrays), batched, under any distribution."""
    from common import data as data_lib

    return training.predict(model, data_lib.make_pipeline(inputs, batch_size=_batch_size(batch_size), cache=False))


def compile_rating_model(model: keras.Model, config: RecommendationConfig) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(_learning_rate(config)),
        loss="mse",
        metrics=[keras.metrics.RootMeanSquaredError(name="rmse"), keras.metrics.MeanAbsoluteError(name="mae")],
    )


def _rating_inputs(part: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"user": part["user"].astype(np.int32), "item": part["item"].astype(np.int32), "session": part["session"].astype(np.int32)}


def predict_ratings(model: keras.Model, part: dict[str, np.ndarray], rating_scale: tuple[float, float]) -> np.ndarray:
    """Predicted ratings, clipped to the scale (the models' raw scores may leave it)."""
    scores = np.asarray(predict_arrays(model, _rating_inputs(part)), np.float64).reshape(-1)
    return np.clip(scores, *rating_scale)


def blend_weight(truth: np.ndarray, first: np.ndarray, second: np.ndarray) -> float:
    """The weight w in [0, 1] (steps of 0.05) minimising the RMSE of w * first + (1 - w) * second."""
    grid = np.linspace(0.0, 1.0, 21)
    errors = [evaluation.rmse(truth, w * first + (1 - w) * second) for w in grid]
    return float(grid[int(np.argmin(errors))])


def train_rating(config: RecommendationConfig, interactions: data.Interactions, split: data.Split, workdir: Path) -> dict[str, Any]:
    scale = interactions.rating_scale
    use_sessions = interactions.timestamp is not None and config.session_gap_hours > 0
    session_ids = data.sessions(interactions.user, interactions.timestamp, config.session_gap_hours * 3600.0)
    session, num_sessions = data.session_index(session_ids, split.train) if use_sessions else (np.zeros(len(interactions), np.int32), 0)

    def part(rows: np.ndarray) -> dict[str, np.ndarray]:
        return {**interactions.subset(rows), "session": session[rows]}

    train, validation, test = part(split.train), part(split.validation), part(split.test)
    sizes = dict(num_users=interactions.num_users, num_items=interactions.num_items)

    # Baselines, fitted on the training split; regularisation chosen on validation.
    global_mean = float(train["rating"].mean())
    plain = baselines.select_biases({k: v for k, v in train.items() if k != "session"}, validation, grid=config.bias_l2,
                                    rating_scale=scale, **sizes)
    time_aware = (baselines.select_biases(train, validation, grid=config.bias_l2, rating_scale=scale, num_sessions=num_sessions, **sizes)
                  if num_sessions else None)
    residual_base = time_aware or plain

    def baseline_predictions(split_part):
        result = {"global_mean": np.full(len(split_part["rating"]), global_mean),
                  "user_item_bias": plain.predict(split_part["user"], split_part["item"], rating_scale=scale)}
        if time_aware is not None:
            result["user_item_session_bias"] = time_aware.predict(split_part["user"], split_part["item"], split_part["session"], scale)
        return result

    # The models: each learns the residual of the (time-aware) bias baseline.
    members = ["mf", "neumf"] if config.resolved_model == "ensemble" else [config.resolved_model]
    train_ds = data.rating_pipeline(_rating_inputs(train), train["rating"], batch_size=_batch_size(config.batch_size), shuffle=True,
                                    seed=config.seed)
    validation_ds = data.rating_pipeline(_rating_inputs(validation), validation["rating"], batch_size=_batch_size(PREDICT_BATCH))
    trained, histories = {}, {}
    for name in members:
        model = build_rating_model(name, config, interactions.num_users, interactions.num_items, num_sessions)
        models.set_baseline(model, residual_base)
        compile_rating_model(model, config)
        log.info("model %s: %s parameters", model.name, f"{model.count_params():,}")
        histories[name] = training.fit(
            model, train_ds, validation_ds, epochs=config.epochs, workdir=workdir / name,
            monitor="val_rmse", mode="min", patience=config.patience or None,
        )
        trained[name] = model

    validation_predictions = {name: predict_ratings(m, validation, scale) for name, m in trained.items()}
    if len(members) == 2:
        weight = blend_weight(validation["rating"], validation_predictions["mf"], validation_predictions["neumf"])
        final = models.build_blend([trained["mf"], trained["neumf"]], [weight, 1.0 - weight])
        blend_weights = {"mf": weight, "neumf": 1.0 - weight}
    else:
        final, blend_weights = trained[members[0]], {members[0]: 1.0}

    # Evaluation on the test split: the model, each member and every baseline.
    test_prediction = predict_ratings(final, test, scale)
    member_test = {name: predict_ratings(m, test, scale) for name, m in trained.items()} if len(members) > 1 else {}
    test_baselines = baseline_predictions(test)
    validation_baselines = baseline_predictions(validation)
    model_label = "ensemble" if len(members) > 1 else members[0]
    comparison = []
    for label, (val_pred, test_pred) in {
        model_label: (predict_ratings(final, validation, scale), test_prediction),
        **{name: (validation_predictions[name], member_test[name]) for name in member_test},
        **{name: (validation_baselines[name], test_baselines[name]) for name in test_baselines},
    }.items():
        comparison.append({"model": label, "validation_rmse": evaluation.rmse(validation["rating"], val_pred),
                           "test_rmse": evaluation.rmse(test["rating"], test_pred), "test_mae": evaluation.mae(test["rating"], test_pred)})
    metrics = {
        "test_rmse": evaluation.rmse(test["rating"], test_prediction),
        "test_mae": evaluation.mae(test["rating"], test_prediction),
        "validation_rmse": comparison[0]["validation_rmse"],
        **{f"test_rmse_{name}": evaluation.rmse(test["rating"], p) for name, p in member_test.items()},
        "blend_weights": blend_weights,
        "bias_regularization": residual_base.regularization,
        "sessions_with_bias": num_sessions,
        "test_ratings_in_known_sessions": float(np.mean(test["session"] > 0)) if num_sessions else 0.0,
        "epochs_run": {name: len(h.get("loss", [])) for name, h in histories.items()},
        "parameters": final.count_params(),
    }
    baseline_metrics = {name: {"rmse": evaluation.rmse(test["rating"], p), "mae": evaluation.mae(test["rating"], p)}
                        for name, p in test_baselines.items()}
    user_counts = np.bincount(train["user"], minlength=interactions.num_users)
    activity = evaluate.rmse_by_activity(user_counts, test["user"], test["rating"],
                                         {model_label: test_prediction, "user_item_bias": test_baselines["user_item_bias"]})

    # Figures: errors against the bias baseline, learning curves, the item factors in 2-D.
    figures = {
        "rating_error_distribution": plots.histogram(
            {f"{model_label} (RMSE {metrics['test_rmse']:.3f})": test_prediction - test["rating"],
             f"user+item bias (RMSE {baseline_metrics['user_item_bias']['rmse']:.3f})": test_baselines["user_item_bias"] - test["rating"]},
            xlabel="predicted - actual rating", title=f"Test rating errors on {interactions.name}", bins=60),
    }
    for name, history in histories.items():
        figures[f"learning_curves_{name}"] = plots.learning_curves(history, title=f"{trained[name].name} on {interactions.name}")
    item_counts = np.bincount(train["item"], minlength=interactions.num_items)
    figures["item_embeddings"] = _projection_figure(models.item_embeddings(trained[members[0]], interactions.num_items),
                                                    interactions, item_counts, f"{trained[members[0]].name} item factors")
    return {
        "model": final, "model_name": final.name, "metrics": metrics, "baselines": baseline_metrics,
        "headline": results.headline("rmse", metrics["test_rmse"], higher_is_better=False),
        "history": histories[members[0]] if len(members) == 1 else {f"{n}_{k}": v for n, h in histories.items() for k, v in h.items()},
        "figures": figures, "tables": {"model_comparison": comparison, "rmse_by_user_activity": activity},
        "summary": {"test_rmse": metrics["test_rmse"], "test_mae": metrics["test_mae"],
                    "baseline_rmse": {name: values["rmse"] for name, values in baseline_metrics.items()}},
    }


def _projection_figure(vectors: np.ndarray, interactions: data.Interactions, counts: np.ndarray, what: str, limit: int = 2000):
    """PCA of the embeddings of the (up to ``limit``) most-rated items, coloured by genre."""
    chosen = np.argsort(-counts, kind="stable")[:limit]
    chosen = chosen[counts[chosen] > 0]
    return evaluate.embedding_projection(vectors[chosen], [interactions.genres[i] for i in chosen],
                                         title=f"{what}: {len(chosen)} most-rated items (PCA)")


# ---------------------------------------------------------------------------------------------
# Retrieval
# ---------------------------------------------------------------------------------------------
def _retrieval_examples(interactions: data.Interactions, rows: np.ndarray, targets: np.ndarray, history_length: int) -> dict[str, np.ndarray]:
    """(user, history, item) examples for the interactions ``targets`` (a subset of ``rows``),
    each with the same user's previous items among ``rows`` as its history."""
    time = None if interactions.timestamp is None else interactions.timestamp[rows]
    order, histories = data.history_matrix(interactions.user[rows], interactions.item[rows], time, history_length)
    keep = np.isin(rows[order], targets)
    chosen = rows[order][keep]
    return {"user": interactions.user[chosen], "history": histories[keep], "item": interactions.item[chosen]}


def train_retrieval(config: RecommendationConfig, interactions: data.Interactions, split: data.Split, workdir: Path) -> dict[str, Any]:
    features = data.item_features(interactions)
    length = config.history_length
    known = np.sort(np.r_[split.train, split.validation])  # what is known when the test ratings happen
    train_examples = _retrieval_examples(interactions, split.train, split.train, length)
    validation_examples = _retrieval_examples(interactions, known, split.validation, length)
    train_counts = baselines.popularity(interactions.item[split.train], interactions.num_items)
    item_probability = train_counts / max(train_counts.sum(), 1.0)

    widths = config.mlp_widths
    candidate_tower = models.build_candidate_tower(
        num_items=interactions.num_items, genres=features.genres, title_tokens=features.title_tokens,
        year_buckets=features.year_buckets, vocabulary_size=len(features.token_vocabulary),
        num_year_buckets=len(features.year_bucket_names), embedding_dim=config.embedding_dim, widths=widths,
        embedding_l2=config.resolved_embedding_l2, dropout_rate=config.resolved_dropout_rate,
    )
    query_tower = models.build_query_tower(
        num_users=interactions.num_users, num_items=interactions.num_items, history_length=length,
        embedding_dim=config.embedding_dim, widths=widths, use_user_id=config.use_user_id,
        embedding_l2=config.resolved_embedding_l2, dropout_rate=config.resolved_dropout_rate,
    )
    model = models.build_two_tower(query_tower=query_tower, candidate_tower=candidate_tower, item_probability=item_probability,
                                   temperature=config.temperature, logq_correction=config.logq_correction)
    model.compile(optimizer=keras.optimizers.Adam(_learning_rate(config)), loss=models.in_batch_softmax_loss)
    log.info("model %s: %s parameters; %d training / %d validation examples", model.name, f"{model.count_params():,}",
             len(train_examples["item"]), len(validation_examples["item"]))
    batch_size = _batch_size(config.batch_size)
    train_ds = data.retrieval_pipeline(train_examples, batch_size=batch_size, shuffle=True, seed=config.seed)
    validation_ds = data.retrieval_pipeline(validation_examples, batch_size=batch_size)
    history = training.fit(model, train_ds, validation_ds, epochs=config.epochs, workdir=workdir / "two_tower",
                           monitor="val_loss", mode="min", patience=config.patience or None)

    # Rank the whole catalogue for every test user, from what was known before their test ratings.
    candidates = models.item_embeddings(model, interactions.num_items, predict_fn=predict_arrays)
    known_by_user = evaluate.items_by_user(interactions.user[known], interactions.item[known], interactions.num_users)
    test_by_user = evaluate.items_by_user(interactions.user[split.test], interactions.item[split.test], interactions.num_users)
    test_users = np.array([u for u in range(interactions.num_users) if len(test_by_user[u])], np.int32)
    time = None if interactions.timestamp is None else interactions.timestamp[known]
    query_histories = data.latest_histories(interactions.user[known], interactions.item[known], time, interactions.num_users, length)
    queries = np.asarray(predict_arrays(query_tower, {"user": test_users, "history": query_histories[test_users]}))
    depth = max(evaluate.RECALL_CURVE_KS)
    exclude = [known_by_user[u] for u in test_users]
    relevant = [set(test_by_user[u].tolist()) for u in test_users]
    ranked = evaluate.top_k_excluding(queries, candidates, depth, exclude)
    known_counts = baselines.popularity(interactions.item[known], interactions.num_items)
    popular_ranked = evaluate.top_k_by_scores(known_counts, depth, exclude)
    model_metrics = evaluate.ranking_metrics(ranked, relevant)
    popularity_metrics = evaluate.ranking_metrics(popular_ranked, relevant)

    headline_metrics = ("recall_at_10", "recall_at_50", "ndcg_at_10")
    metrics = {
        **{f"test_{name}": model_metrics[name] for name in headline_metrics},
        "recall_at_10_over_popularity": model_metrics["recall_at_10"] / max(popularity_metrics["recall_at_10"], 1e-12),
        "test_users": len(test_users),
        "catalogue_items": interactions.num_items,
        "distinct_items_recommended_at_10": int(len(np.unique(ranked[:, :10]))),
        "distinct_items_recommended_at_10_popularity": int(len(np.unique(popular_ranked[:, :10]))),
        "epochs_run": len(history.get("loss", [])),
        "parameters": model.count_params(),
        "training_examples": len(train_examples["item"]),
        "title_vocabulary": len(features.token_vocabulary),
        "genres": features.genre_names,
    }
    ks = [k for k in evaluate.RECALL_CURVE_KS if f"recall_at_{k}" in model_metrics]
    curve_rows = [{"k": k, "two_tower": model_metrics[f"recall_at_{k}"], "popularity": popularity_metrics[f"recall_at_{k}"]} for k in ks]
    figures = {
        "recall_at_k": plots.lines(
            {"two-tower": (ks, [model_metrics[f"recall_at_{k}"] for k in ks]),
             "popularity": (ks, [popularity_metrics[f"recall_at_{k}"] for k in ks])},
            xlabel="k (items recommended)", ylabel="recall@k", title=f"Test recall@k on {interactions.name} ({split.kind} split)", logx=True),
        "learning_curves": plots.learning_curves(history, title=f"two-tower in-batch softmax on {interactions.name}"),
        "item_embeddings": _projection_figure(candidates, interactions, train_counts, "candidate-tower embeddings"),
    }
    examples = _example_recommendations(interactions, test_users, ranked, relevant, count=20)
    return {
        "model": model, "model_name": f"two_tower(history {length}, dim {config.embedding_dim})", "metrics": metrics,
        "baselines": {"popularity": {name: popularity_metrics[name] for name in headline_metrics}},
        "headline": results.headline("recall_at_10", metrics["test_recall_at_10"], higher_is_better=True),
        "history": history, "figures": figures, "tables": {"recall_at_k": curve_rows, "example_recommendations": examples},
        "summary": {name: metrics[f"test_{name}"] for name in headline_metrics}
        | {"popularity_recall_at_10": popularity_metrics["recall_at_10"]},
    }


def _example_recommendations(interactions, users, ranked, relevant, count: int) -> list[dict]:
    rows = []
    for row in range(min(count, len(users))):
        top = [int(i) for i in ranked[row, :5] if i >= 0]
        rows.append({"user": interactions.users[users[row]],
                     "top_5": " | ".join(interactions.item_label(i) for i in top),
                     "hits_in_top_10": len(set(ranked[row, :10].tolist()) & relevant[row]),
                     "held_out": " | ".join(interactions.item_label(i) for i in sorted(relevant[row]))})
    return rows


# ---------------------------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------------------------
def train_and_evaluate(
    config: RecommendationConfig, workdir: str | Path | None = None, results_dir: str | Path | None = None
) -> dict[str, Any]:
    """Train ``config``'s task and model, evaluate on the test split, write results; returns metrics."""
    recorder = results.RunRecorder(DOMAIN, config, results_dir)
    # The session carries --distribute/--backup-steps too; models are built and compiled inside it.
    with training.session_for(config) as session:
        interactions = data.load(
            config.dataset, data_dir=config.data_dir, rating_scale=config.rating_scale, ratings_file=config.ratings_file,
            items_file=config.items_file, delimiter=config.delimiter, user_column=config.user_column,
            item_column=config.item_column, rating_column=config.rating_column, timestamp_column=config.timestamp_column,
            max_ratings=config.max_ratings, seed=config.seed,
        )
        split = data.make_split(interactions, config.resolved_split, seed=config.seed, holdout=config.holdout)
        dataset_folder = config.dataset_folder(interactions.name)
        workdir = paths.work_dir(DOMAIN, dataset_folder, run_name(config), workdir)
        train_fn = train_rating if config.task == "rating" else train_retrieval
        outcome = train_fn(config, interactions, split, Path(workdir))
        model_path = saving.save_model(
            outcome["model"], Path(workdir) / "model.keras",
            {"domain": DOMAIN, "task": config.task, "model": config.resolved_model, "dataset": interactions.name,
             "rating_scale": interactions.rating_scale, "history_length": config.history_length,
             "num_users": interactions.num_users, "num_items": interactions.num_items, "preset": config.preset},
        )
        data.Catalogue.from_interactions(interactions, config.history_length).save(data.catalogue_path(model_path))
    run_dir = recorder.save(
        dataset=dataset_folder,
        run_name=run_name(config),
        model=outcome["model_name"],
        headline=outcome["headline"],
        metrics={**outcome["metrics"], "resolved_settings": {
                     "model": config.resolved_model, "split": config.resolved_split,
                     "embedding_l2": config.resolved_embedding_l2, "dropout_rate": config.resolved_dropout_rate},
                 "split": split.kind, "split_sizes": split.sizes(), "ratings": len(interactions),
                 "users": interactions.num_users, "items": interactions.num_items, "data_source": interactions.source},
        baselines=outcome["baselines"],
        history=outcome["history"],
        skipped={"skipped": interactions.skipped.to_dict(), "split": split.notes.to_dict()},
        figures=outcome["figures"],
        tables=outcome["tables"],
        policy=session.policy,
        extra={"model_path": str(model_path)},
    )
    return {**outcome["summary"], "wall_time_seconds": recorder.elapsed(), "results_dir": str(run_dir), "model_path": str(model_path)}
