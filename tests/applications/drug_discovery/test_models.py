"""Graph layers, masked losses and models: shapes, padding invariance, config round trips,
.keras save/load, mixed precision, and one training step under each backend."""

from __future__ import annotations

import keras
import numpy as np
import pytest

pytest.importorskip("rdkit")

from applications.drug_discovery import featurize, models  # noqa: E402
from common import precision  # noqa: E402
from tests.helpers import BACKENDS, run_python  # noqa: E402

SMILES = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "C", "[Na+].CC(=O)[O-]"]


def graph_inputs(num_atoms=None, max_degree=None, descriptors=("MolLogP", "TPSA")):
    mols = [featurize.standardize(s).mol for s in SMILES]
    inputs = featurize.pad_graphs([featurize.graph(m) for m in mols], num_atoms=num_atoms, max_degree=max_degree)
    if descriptors:
        inputs["global_features"] = featurize.descriptors(mols, descriptors)
    return inputs


def small_mpnn(**kwargs):
    options = dict(num_tasks=2, atom_feature_size=featurize.ATOM_FEATURES, bond_feature_size=featurize.BOND_FEATURES,
                   num_global_features=2, hidden_units=16, message_steps=2, attention_heads=2, head_units=(16,))
    return models.build_mpnn(**{**options, **kwargs})


def test_mpnn_output_does_not_depend_on_padding():
    model = small_mpnn()
    tight = model.predict(graph_inputs(), verbose=0)
    loose = model.predict(graph_inputs(num_atoms=24, max_degree=6), verbose=0)
    assert tight.shape == (5, 2) and tight.dtype == np.float32
    np.testing.assert_allclose(tight, loose, rtol=1e-4, atol=1e-5)


def test_message_passing_and_readout_shapes_and_masking():
    inputs = graph_inputs(num_atoms=16)
    states = keras.random.normal((5, 16, 8), seed=1)
    mask = models.AtomMask()(inputs["atom_features"])
    assert tuple(mask.shape) == (5, 16) and float(keras.ops.sum(mask[0])) == 3.0
    layer = models.EdgeConditionedMessagePassing(8, steps=2)
    out = keras.ops.convert_to_numpy(layer([states, inputs["neighbor_indices"], inputs["bond_features"], mask]))
    assert out.shape == (5, 16, 8) and np.all(out[0, 3:] == 0) and np.abs(out[0, :3]).sum() > 0
    pooled = models.AttentionPooling(heads=3, attention_units=4)([out, mask])
    assert tuple(pooled.shape) == (5, 24)
    total = models.MaskedSumPooling()([out, mask])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(total)[0], out[0, :3].sum(axis=0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="atom states of width units=4"):
        models.EdgeConditionedMessagePassing(4)([states, inputs["neighbor_indices"], inputs["bond_features"], mask])


@pytest.mark.parametrize(
    "layer",
    [
        models.AtomMask(),
        models.EdgeConditionedMessagePassing(12, steps=4, dropout_rate=0.3),
        models.AttentionPooling(heads=3, attention_units=7),
        models.MaskedSumPooling(),
        models.TargetScaling([1.0, -2.0], [0.5, 3.0]),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_layer_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer) and restored.get_config() == config


def test_masked_losses_ignore_missing_labels():
    y_true = np.array([[1.0, np.nan], [0.0, 1.0], [np.nan, np.nan]], np.float32)
    y_pred = np.array([[2.0, 100.0], [-1.0, 0.5], [7.0, -7.0]], np.float32)
    present = ~np.isnan(y_true)
    mse = float(models.MaskedMeanSquaredError()(y_true, y_pred))
    np.testing.assert_allclose(mse, np.mean((y_pred[present] - y_true[present]) ** 2), rtol=1e-6)
    bce = float(models.MaskedBinaryCrossentropy()(y_true, y_pred))
    probabilities = 1 / (1 + np.exp(-y_pred[present]))
    labels = y_true[present]
    reference = -np.mean(labels * np.log(probabilities) + (1 - labels) * np.log(1 - probabilities))
    np.testing.assert_allclose(bce, reference, rtol=1e-5)
    assert float(models.MaskedBinaryCrossentropy()(np.full((2, 2), np.nan, np.float32), y_pred[:2])) == 0.0


def test_ensemble_saves_loads_and_reports_member_spread(tmp_path):
    members = [small_mpnn(name=f"member_{i}") for i in range(3)]
    ensemble = models.build_ensemble(members, task_type="regression", target_offset=[1.0, 2.0], target_scale=[2.0, 0.5])
    inputs = graph_inputs()
    stacked = ensemble.predict(inputs, verbose=0)
    assert stacked.shape == (5, 3, 2) and stacked.std(axis=1).max() > 0  # members differ
    np.testing.assert_allclose(stacked[:, 0], members[0].predict(inputs, verbose=0) * [2.0, 0.5] + [1.0, 2.0], rtol=1e-5, atol=1e-5)
    ensemble.save(tmp_path / "ensemble.keras")
    again = keras.saving.load_model(tmp_path / "ensemble.keras")
    np.testing.assert_allclose(again.predict(inputs, verbose=0), stacked, rtol=1e-5, atol=1e-6)
    classifier = models.build_ensemble(members[:1], task_type="classification")
    probabilities = classifier.predict(inputs, verbose=0)
    assert probabilities.shape == (5, 1, 2) and probabilities.min() > 0 and probabilities.max() < 1


def test_fingerprint_mlp_shapes():
    model = models.build_fingerprint_mlp(num_tasks=3, fingerprint_size=64, num_global_features=0, hidden_units=(8,))
    assert set(model.input) == {"fingerprint"}
    assert model.predict({"fingerprint": np.zeros((4, 64), np.float32)}, verbose=0).shape == (4, 3)


def test_mixed_precision_computes_in_bfloat16_and_loads_under_float32(tmp_path):
    with precision.policy_scope("mixed_bfloat16"):
        model = small_mpnn()
        ensemble = models.build_ensemble([model], task_type="regression", target_offset=[0.0, 0.0], target_scale=[1.0, 1.0])
        assert model.get_layer("message_passing").compute_dtype == "bfloat16"
        assert model.get_layer("scores").compute_dtype == "float32" and ensemble.output.dtype == "float32"
        expected = ensemble.predict(graph_inputs(), verbose=0)
        ensemble.save(tmp_path / "mixed.keras")
    # Loaded where the global policy is float32 (as predict.py does): layers keep their policy.
    again = keras.saving.load_model(tmp_path / "mixed.keras")
    np.testing.assert_allclose(again.predict(graph_inputs(), verbose=0), expected, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_training_step_and_save_load_under_each_backend(backend, tmp_path):
    run_python(
        f"""
        import keras, numpy as np
        from applications.drug_discovery import featurize, models
        assert keras.backend.backend() == {backend!r}
        mols = [featurize.standardize(s).mol for s in ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "C"]]
        x = featurize.pad_graphs([featurize.graph(m) for m in mols])
        x["global_features"] = featurize.descriptors(mols, ("MolLogP",))
        y = np.array([[1, np.nan], [0, 1], [np.nan, 0], [1, 1]], "float32")
        model = models.build_mpnn(num_tasks=2, atom_feature_size=featurize.ATOM_FEATURES,
                                  bond_feature_size=featurize.BOND_FEATURES, num_global_features=1,
                                  hidden_units=8, message_steps=2, attention_heads=2, head_units=(8,))
        model.compile(optimizer="adam", loss=models.MaskedBinaryCrossentropy())
        history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
        assert all(np.isfinite(history.history["loss"])), history.history
        ensemble = models.build_ensemble([model], task_type="classification")
        ensemble.save({str(tmp_path / 'model.keras')!r})
        again = keras.saving.load_model({str(tmp_path / 'model.keras')!r})
        np.testing.assert_allclose(again.predict(x, verbose=0), ensemble.predict(x, verbose=0), rtol=1e-4, atol=1e-5)
        print("ok")
        """,
        backend=backend,
    )
