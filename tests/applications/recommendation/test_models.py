"""Recommendation models, custom layers, baselines and ranking helpers; one step per backend."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from applications.recommendation import baselines, evaluate, models
from common import precision
from tests.helpers import BACKENDS, run_python


def rating_inputs(users, items, sessions=None):
    return {"user": np.asarray(users, np.int32), "item": np.asarray(items, np.int32),
            "session": np.zeros(len(users), np.int32) if sessions is None else np.asarray(sessions, np.int32)}


def test_rating_models_start_from_the_frozen_baseline():
    bias = baselines.BiasModel(3.5, np.array([0.5, -0.5]), np.array([0.1, 0.2, -0.3]), np.array([0.0, 0.25]))
    for build in (models.build_matrix_factorization, models.build_neumf):
        model = build(num_users=2, num_items=3, num_sessions=1, embedding_dim=4)
        models.set_baseline(model, bias)
        inputs = rating_inputs([0, 1, 1], [0, 2, 1], [1, 0, 1])
        predicted = model.predict(inputs, verbose=0)
        assert predicted.shape == (3, 1) and predicted.dtype == np.float32
        expected = bias.predict(inputs["user"], inputs["item"], inputs["session"])
        # Factors start near zero (std 0.01) and the fusion layer at zero: the baseline itself.
        np.testing.assert_allclose(predicted[:, 0], expected, atol=2e-3)
        assert not model.get_layer("baseline_item_bias").trainable
        np.testing.assert_allclose(model.get_layer("baseline_item_bias").get_weights()[0][:, 0], 3.5 + bias.item_bias, rtol=1e-6)


def test_blend_is_the_weighted_average_of_its_members():
    first = models.build_matrix_factorization(num_users=3, num_items=4, embedding_dim=2, name="a")
    second = models.build_neumf(num_users=3, num_items=4, embedding_dim=2, mlp_widths=(4,), name="b")
    for model, offset in ((first, 1.0), (second, 4.0)):
        models.set_baseline(model, baselines.BiasModel(offset, np.zeros(3), np.zeros(4)))
    blend = models.build_blend([first, second], [0.25, 0.75])
    inputs = rating_inputs([0, 1, 2], [3, 2, 1])
    expected = 0.25 * first.predict(inputs, verbose=0) + 0.75 * second.predict(inputs, verbose=0)
    np.testing.assert_allclose(blend.predict(inputs, verbose=0), expected, rtol=1e-5)
    np.testing.assert_allclose(expected, 3.25, atol=0.01)


def test_table_lookup_masked_mean_shapes_config_and_save_load(tmp_path):
    table = np.arange(12, dtype=np.int32).reshape(4, 3)
    lookup = models.TableLookup(4, 3, "int32", table, name="tokens")
    assert keras.ops.convert_to_numpy(lookup(np.array([2, 0]))).tolist() == [[6, 7, 8], [0, 1, 2]]
    again = models.TableLookup.from_config(lookup.get_config())
    assert (again.num_rows, again.width, again.table_dtype) == (4, 3, "int32") and not again.trainable
    mean = models.MaskedMean()
    ids = np.array([[1, 2, 0], [0, 0, 0]])
    vectors = np.ones((2, 3, 2), np.float32) * np.array([1.0, 3.0, 100.0])[None, :, None]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(mean([ids, vectors])), [[2.0, 2.0], [0.0, 0.0]])
    item = keras.Input((), dtype="int32")
    tokens = models.TableLookup(4, 3, "int32", table + 1)(item)  # [B, 3]
    pooled = models.MaskedMean()([tokens, keras.layers.Embedding(20, 5)(tokens)])  # [B, 5]
    model = keras.Model(item, pooled)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(np.arange(4), verbose=0), model.predict(np.arange(4), verbose=0), rtol=1e-6)


def test_in_batch_logits_remove_accidental_hits_and_correct_for_sampling():
    query = np.eye(3, dtype=np.float32)
    candidate = np.eye(3, dtype=np.float32)
    ids = np.array([7, 8, 7])  # rows 0 and 2 hold the same item
    plain = keras.ops.convert_to_numpy(models.InBatchSoftmaxLogits(temperature=0.5, logq_correction=False)([query, candidate, ids]))
    assert plain.shape == (3, 3) and plain[0, 0] == pytest.approx(2.0) and plain[1, 1] == pytest.approx(2.0)
    assert plain[0, 2] < -1e30 and plain[2, 0] < -1e30  # the same item is not a negative of itself
    probability = np.array([0.5, 0.25, 0.5], np.float32)
    corrected = keras.ops.convert_to_numpy(models.InBatchSoftmaxLogits(0.5, True)([query, candidate, ids, probability]))
    np.testing.assert_allclose(corrected[1, 1], 2.0 - np.log(0.25), rtol=1e-5)
    logits = np.array([[2.0, 0.0], [1.0, 3.0]], np.float32)
    expected = np.mean([-np.log(np.exp(2) / (np.exp(2) + 1)), -np.log(np.exp(3) / (np.exp(3) + np.e))])
    loss = keras.ops.convert_to_numpy(models.in_batch_softmax_loss(np.zeros(2), logits))
    assert float(np.mean(loss)) == pytest.approx(expected, rel=1e-5)


def build_two_tower(history_length=4, num_items=12):
    genres = np.eye(3, dtype=np.float32)[np.arange(num_items) % 3]
    tokens = np.arange(num_items * 2, dtype=np.int32).reshape(num_items, 2) % 7
    candidate = models.build_candidate_tower(num_items=num_items, genres=genres, title_tokens=tokens, year_buckets=np.arange(num_items) % 2,
                                             vocabulary_size=7, num_year_buckets=2, embedding_dim=8, widths=(8,))
    query = models.build_query_tower(num_users=5, num_items=num_items, history_length=history_length, embedding_dim=8, widths=(8,), use_user_id=True)
    return query, candidate, models.build_two_tower(query_tower=query, candidate_tower=candidate, item_probability=np.full(num_items, 1 / num_items))


def test_two_tower_shapes_and_unit_length_embeddings():
    query, candidate, model = build_two_tower()
    inputs = {"user": np.arange(4, dtype=np.int32), "history": np.array([[1, 2, 0, 0]] * 4, np.int32), "item": np.array([0, 3, 5, 7], np.int32)}
    assert model.predict(inputs, verbose=0).shape == (4, 4)
    vectors = models.item_embeddings(model, 12)
    assert vectors.shape == (12, 8)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)
    users = query.predict({"user": inputs["user"], "history": inputs["history"]}, verbose=0)
    np.testing.assert_allclose(np.linalg.norm(users, axis=1), 1.0, rtol=1e-4)


def test_outputs_stay_float32_under_mixed_precision():
    with precision.policy_scope("mixed_bfloat16"):
        neumf = models.build_neumf(num_users=3, num_items=4, embedding_dim=4, mlp_widths=(8,))
        query, candidate, model = build_two_tower()
    assert neumf.get_layer("mlp_1").compute_dtype == "bfloat16" and neumf.output.dtype == "float32"
    assert candidate.get_layer("candidate_dense_1").compute_dtype == "bfloat16"
    assert candidate.output.dtype == "float32" and model.output.dtype == "float32"
    assert candidate.get_layer("genre_table").table.dtype == "float32"


def test_fit_biases_matches_the_closed_form_and_selection_uses_validation():
    # One user, two items, no regularisation: biases reproduce the ratings exactly.
    model = baselines.fit_biases(np.array([0, 0]), np.array([0, 1]), np.array([4.0, 2.0]), num_users=1, num_items=2,
                                 user_l2=0.0, item_l2=0.0, iterations=5)
    np.testing.assert_allclose(model.predict(np.array([0, 0]), np.array([0, 1])), [4.0, 2.0])
    # Strong regularisation shrinks an item seen once towards the mean.
    shrunk = baselines.fit_biases(np.array([0, 1, 2]), np.array([0, 0, 1]), np.array([5.0, 5.0, 1.0]), num_users=3, num_items=2,
                                  user_l2=100.0, item_l2=1.0)
    assert abs(shrunk.item_bias[1]) < abs(shrunk.item_bias[0]) * 2 and shrunk.item_bias[1] < 0 < shrunk.item_bias[0]
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 30, 2000), rng.integers(0, 40, 2000)
    ratings = np.clip(3 + rng.normal(0, 1, 30)[users] * 0.5 + rng.normal(0, 1, 40)[items] + rng.normal(0, 0.3, 2000), 1, 5)
    part = lambda s: {"user": users[s], "item": items[s], "rating": ratings[s]}  # noqa: E731
    chosen = baselines.select_biases(part(slice(0, 1500)), part(slice(1500, None)), num_users=30, num_items=40,
                                     grid=(0.1, 1000.0), rating_scale=(1, 5))
    assert chosen.regularization == {"user_l2": 0.1, "item_l2": 0.1}
    assert baselines.popularity(np.array([2, 2, 0]), 4).tolist() == [1, 0, 2, 0]


def test_top_k_excludes_seen_items_and_matches_a_full_sort():
    rng = np.random.default_rng(1)
    queries, candidates = rng.normal(size=(5, 4)), rng.normal(size=(30, 4))
    exclude = [np.array([0, 1, 2]), np.array([], int), np.arange(25), np.array([7]), np.arange(30)]
    ranked = evaluate.top_k_excluding(queries, candidates, 6, exclude, batch_size=2)
    for row in range(4):
        scores = candidates @ queries[row]
        scores[exclude[row]] = -np.inf
        expected = np.argsort(-scores)[:6]
        expected = expected[np.isfinite(scores[expected])]
        assert ranked[row, : len(expected)].tolist() == expected.tolist()
    assert ranked[2, 5] == -1 and (ranked[4] == -1).all()  # not enough unseen items: padded
    popular = evaluate.top_k_by_scores(np.array([1.0, 5, 3, 4]), 2, [np.array([1]), np.array([], int)])
    assert popular.tolist() == [[3, 2], [1, 3]]
    metrics = evaluate.ranking_metrics(np.array([[1, 2, 3]]), [{2, 9}], ks=(1, 2, 3))
    assert metrics["recall_at_1"] == 0 and metrics["recall_at_2"] == 0.5 and metrics["recall_at_3"] == 0.5


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_training_step_and_save_load_under_each_backend(backend, tmp_path):
    run_python(
        f"""
        import keras, numpy as np
        from applications.recommendation import baselines, models
        assert keras.backend.backend() == {backend!r}
        rng = np.random.default_rng(0)
        mf = models.build_neumf(num_users=6, num_items=9, num_sessions=2, embedding_dim=4, mlp_widths=(8,))
        models.set_baseline(mf, baselines.BiasModel(3.0, np.zeros(6), np.zeros(9), np.zeros(3)))
        mf.compile(optimizer="adam", loss="mse")
        x = {{"user": rng.integers(0, 6, 32).astype("int32"), "item": rng.integers(0, 9, 32).astype("int32"),
             "session": rng.integers(0, 3, 32).astype("int32")}}
        assert np.isfinite(mf.fit(x, rng.uniform(1, 5, 32).astype("float32"), batch_size=16, verbose=0).history["loss"][0])
        mf.save({str(tmp_path / 'mf.keras')!r})
        again = keras.saving.load_model({str(tmp_path / 'mf.keras')!r})
        np.testing.assert_allclose(again.predict(x, verbose=0), mf.predict(x, verbose=0), rtol=1e-4, atol=1e-5)

        genres = np.eye(3, dtype="float32")[np.arange(9) % 3]
        candidate = models.build_candidate_tower(num_items=9, genres=genres, title_tokens=(np.arange(18).reshape(9, 2) % 5).astype("int32"),
                                                 year_buckets=np.arange(9) % 2, vocabulary_size=5, num_year_buckets=2, embedding_dim=4, widths=(8,))
        query = models.build_query_tower(num_users=6, num_items=9, history_length=3, embedding_dim=4, widths=(8,))
        model = models.build_two_tower(query_tower=query, candidate_tower=candidate, item_probability=np.full(9, 1 / 9))
        model.compile(optimizer="adam", loss=models.in_batch_softmax_loss)
        batch = {{"user": np.arange(8, dtype="int32") % 6, "history": rng.integers(0, 10, (8, 3)).astype("int32"),
                 "item": rng.permutation(9)[:8].astype("int32")}}
        assert np.isfinite(model.fit(batch, np.zeros(8, "float32"), batch_size=8, verbose=0).history["loss"][0])
        model.save({str(tmp_path / 'two_tower.keras')!r})
        loaded = keras.saving.load_model({str(tmp_path / 'two_tower.keras')!r})
        np.testing.assert_allclose(models.item_embeddings(loaded, 9), models.item_embeddings(model, 9), rtol=1e-4, atol=1e-5)
        print("ok")
        """,
        backend=backend,
    )
