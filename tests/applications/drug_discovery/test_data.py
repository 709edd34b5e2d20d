"""Datasets: cleaning (bad SMILES, salts, duplicates, bad targets), sources, splits, pipelines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("rdkit")

from applications.drug_discovery import config as config_lib  # noqa: E402
from applications.drug_discovery import data, featurize  # noqa: E402
from common.errors import DataError  # noqa: E402


def clean(frame, **kwargs):
    options = {"smiles_column": "smiles", "target_columns": ["y"], "source": "test.csv", "name": "test", "origin": "file"}
    return data.clean_table(frame, **{**options, **kwargs})


def test_cleaning_counts_every_row_it_drops_or_changes(caplog):
    frame = pd.DataFrame({
        "smiles": ["CCO", "C1CC", "[Na+].CC(=O)[O-]", "OCC", "c1ccccc1", "CCN", ""],
        "y": [1.0, 2.0, 3.0, 2.0, "abc", None, 5.0],
    })
    with caplog.at_level("WARNING"):
        molecules = clean(frame)
    assert molecules.task_type == "regression"
    # CCO and OCC are one molecule: merged, targets averaged; benzene's target is not a number.
    assert molecules.smiles == ["CCO", "CC(=O)[O-]"]
    np.testing.assert_allclose(molecules.targets[:, 0], [1.5, 3.0])
    assert molecules.skipped.counts == {"unparseable SMILES": 2, "no target value": 2}
    assert molecules.adjusted.counts["duplicate molecules merged"] == 1
    assert molecules.adjusted.counts["several fragments (salt or mixture): largest kept"] == 1
    assert molecules.adjusted.counts["non-numeric target treated as missing"] == 1
    assert "skipped 2 unparseable SMILES at rows 3, 8" in caplog.text


def test_classification_is_inferred_and_conflicting_duplicates_lose_the_label():
    frame = pd.DataFrame({"smiles": ["CCO", "OCC", "CCN", "CCC", "CCCl"],
                          "a": [1, 0, 1, 0, None], "b": [1, 1, None, 0, 1]})
    molecules = clean(frame, target_columns=["a", "b"])
    assert molecules.task_type == "classification" and molecules.task_names == ["a", "b"]
    ethanol = molecules.smiles.index("CCO")
    assert np.isnan(molecules.targets[ethanol, 0]) and molecules.targets[ethanol, 1] == 1
    assert np.isnan(molecules.targets[molecules.smiles.index("CCN"), 1])
    assert molecules.adjusted.counts["conflicting labels of duplicates dropped"] == 1


def test_bad_columns_and_task_types_name_what_was_expected():
    frame = pd.DataFrame({"SMILES": ["CCO"], "y": [0.5]})
    assert clean(frame).smiles == ["CCO"]  # column names match case-insensitively
    with pytest.raises(DataError, match=r"expected a target column named 'logS'. Received columns: \['SMILES', 'y'\]"):
        clean(frame, target_columns=["logS"])
    with pytest.raises(DataError, match=r"expects 0/1 targets in \['y'\]; received values such as \[0.5\]"):
        clean(frame, task_type="classification")
    with pytest.raises(DataError, match="none of the 1 rows has both a usable SMILES and a target"):
        clean(pd.DataFrame({"smiles": ["C1CC"], "y": [1.0]}))


def test_bundled_freewilson_is_the_offline_default(tmp_path):
    molecules = data.load("auto", data_dir=str(tmp_path))
    assert molecules.name == "freewilson" and molecules.source == "bundled"
    assert len(molecules) == 1017 and molecules.task_type == "regression"
    assert 4.0 < np.nanmin(molecules.targets) and np.nanmax(molecules.targets) < 9.5


def test_named_dataset_offline_without_files_says_what_to_provide(tmp_path):
    with pytest.raises(data.data_lib.DataNotFoundError, match="(?s)local:.*BBBP.csv.*online:.*unreachable"):
        data.load("bbbp", data_dir=str(tmp_path))


def test_user_csv_multitask_with_missing_labels(tmp_path):
    path = tmp_path / "assay.csv"
    pd.DataFrame({"Structure": ["CCO", "CCN", "CCC", "c1ccccc1"], "t1": [1, 0, None, 1], "t2": [None, 1, 0, 0]}).to_csv(path, index=False)
    molecules = data.load("csv", csv_path=str(path), smiles_column="structure", target_columns=["t1", "t2"])
    assert molecules.task_type == "classification" and molecules.targets.shape == (4, 2)
    assert np.isnan(molecules.targets).sum() == 2
    with pytest.raises(DataError, match=r"name the target column\(s\) with --target-columns; columns found: \['t1', 't2'\]"):
        data.load("csv", csv_path=str(path), smiles_column="Structure")


def test_dataset_choices_match_the_config():
    assert config_lib.DATASETS == data.DATASETS


@pytest.fixture(scope="module")
def freewilson():
    return data.load("freewilson")


def test_scaffold_split_keeps_scaffolds_apart_and_is_seeded(freewilson):
    train, validation, test = data.split(freewilson, "scaffold", 0.1, 0.1, seed=0)
    assert len(train) + len(validation) + len(test) == len(freewilson)
    scaffolds = [{featurize.murcko_scaffold(freewilson.mols[i]) for i in part} for part in (train, validation, test)]
    assert not (scaffolds[0] & scaffolds[2]) and not (scaffolds[0] & scaffolds[1]) and not (scaffolds[1] & scaffolds[2])
    again = data.split(freewilson, "scaffold", 0.1, 0.1, seed=0)
    other = data.split(freewilson, "scaffold", 0.1, 0.1, seed=1)
    assert np.array_equal(test, again[2]) and not np.array_equal(test, other[2])
    random_parts = data.split(freewilson, "random", 0.1, 0.1, seed=0)
    assert [len(p) for p in random_parts] == [814, 101, 102]


def test_graph_pipeline_pads_per_batch(freewilson):
    subset = freewilson.subset(np.arange(40))
    features = data.featurize_molecules(subset.mols, descriptor_names=("MolLogP", "TPSA"), fingerprint_radius=2,
                                        fingerprint_bits=256)
    dataset = data.pipeline(features, subset.targets, np.arange(40), kind="mpnn", batch_size=16, bucket=False)
    batches = list(dataset)
    assert [int(b[1].shape[0]) for b in batches] == [16, 16, 8]
    x, y = batches[0]
    atoms = x["atom_features"].shape[1]
    assert atoms % 8 == 0 and atoms >= max(features.graphs[i].num_atoms for i in range(16))
    assert x["neighbor_indices"].dtype.name == "int32" and x["bond_features"].shape[:3] == x["neighbor_indices"].shape
    assert x["global_features"].shape == (16, 2) and y.shape == (16, 1)
    # Bucketed: every molecule exactly once per epoch, batches of similar sizes.
    bucketed = list(data.pipeline(features, subset.targets, np.arange(40), kind="mpnn", batch_size=16, shuffle=True))
    assert sum(int(b[1].shape[0]) for b in bucketed) == 40
    sizes = [g.num_atoms for g in features.graphs]
    assert len(bucketed) == data.batches_per_epoch(sizes, 16) >= 3
    for batch in bucketed:  # one bucket per batch: all its molecules in one size range
        present = batch[0]["atom_features"].numpy().max(axis=-1) > 0
        bucket_of = np.searchsorted(data.BUCKET_BOUNDARIES, present.sum(axis=1), side="right")
        assert len(set(bucket_of.tolist())) == 1
    seen = sorted(float(v) for b in bucketed for v in b[0]["global_features"][:, 0].numpy())
    np.testing.assert_allclose(seen, np.sort(features.global_features[:, 0]), rtol=1e-6)
    fingerprint_x, _ = next(iter(data.pipeline(features, subset.targets, np.arange(40), kind="fingerprint_mlp", batch_size=16)))
    assert fingerprint_x["fingerprint"].shape == (16, 256) and fingerprint_x["fingerprint"].dtype.name == "float32"
    # Under a strategy with 3 replicas every batch splits evenly, and the batch count is unchanged.
    even = list(data.pipeline(features, subset.targets, np.arange(40), kind="mpnn", batch_size=15, shuffle=True, replicas=3))
    assert len(even) == data.batches_per_epoch(sizes, 15)
    assert all(int(b[1].shape[0]) % 3 == 0 and b[0]["atom_features"].shape[0] == b[1].shape[0] for b in even)
    tiny = list(data.pipeline(features, subset.targets, np.arange(2), kind="fingerprint_mlp", batch_size=4, replicas=3))
    assert [int(b[1].shape[0]) for b in tiny] == [3]  # 2 molecules, 3 replicas: one repeated


def test_real_esol_and_bbbp_load(real_data_dir):
    esol = data.load("esol", data_dir=str(real_data_dir))
    assert esol.input_rows == 1128 and len(esol) == 1117 and esol.task_type == "regression"
    bbbp = data.load("bbbp", data_dir=str(real_data_dir))
    assert bbbp.input_rows == 2050 and bbbp.skipped.counts["unparseable SMILES"] == 11
    assert bbbp.adjusted.counts["several fragments (salt or mixture): largest kept"] == 105
    assert bbbp.task_type == "classification" and len(bbbp) == 1955
