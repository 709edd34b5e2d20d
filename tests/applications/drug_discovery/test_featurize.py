"""RDKit featurisation: standardisation, atom/bond features, padded graphs, fingerprints."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rdkit")

from applications.drug_discovery import featurize  # noqa: E402


def test_standardize_keeps_the_largest_fragment_and_reports_failures():
    salt = featurize.standardize("[Na+].CC(=O)[O-]")
    assert salt.canonical_smiles == "CC(=O)[O-]" and salt.fragments == 2
    assert featurize.standardize("OCC").canonical_smiles == featurize.standardize("CCO").canonical_smiles
    assert featurize.standardize("C1CC").mol is None and "cannot parse" in featurize.standardize("C1CC").error
    assert featurize.standardize("").error == "empty SMILES"
    assert featurize.standardize(None).mol is None


def test_atom_features_put_unknown_elements_and_charges_in_other_slots():
    mol = featurize.standardize("[Sn+3]C").mol
    features = np.asarray(featurize.atom_features(mol.GetAtomWithIdx(0)))
    names = featurize.ATOM_FEATURE_NAMES
    assert features.shape == (featurize.ATOM_FEATURES,)
    assert features[names.index("element=other")] == 1 and features[names.index("formal_charge=other")] == 1
    carbon = np.asarray(featurize.atom_features(mol.GetAtomWithIdx(1)))
    assert carbon[names.index("element=C")] == 1 and carbon[names.index("element=other")] == 0
    # Every one-hot block has exactly one slot set.
    for prefix in ("element=", "degree=", "formal_charge=", "hydrogens=", "hybridization=", "chirality="):
        assert sum(features[i] for i, n in enumerate(names) if n.startswith(prefix)) == 1


def test_graph_neighbour_lists_are_symmetric_and_bonds_typed():
    mol = featurize.standardize("c1ccccc1C=O").mol
    g = featurize.graph(mol)
    assert g.atom_features.shape == (8, featurize.ATOM_FEATURES)
    assert g.neighbor_indices.shape == (8, 3) and g.bond_features.shape == (8, 3, featurize.BOND_FEATURES)
    real = g.bond_features.max(axis=-1) > 0
    assert real.sum() == 2 * mol.GetNumBonds()
    pairs = {(v, int(g.neighbor_indices[v, d])) for v, d in zip(*np.nonzero(real))}
    assert all((w, v) in pairs for v, w in pairs)
    names = featurize.BOND_FEATURE_NAMES
    aromatic = g.bond_features[0][real[0]]
    assert (aromatic[:, names.index("bond_type=AROMATIC")] == 1).all()
    double = g.bond_features[7][real[7]]
    assert double[0, names.index("bond_type=DOUBLE")] == 1


def test_single_atom_molecules_still_have_one_neighbour_slot():
    g = featurize.graph(featurize.standardize("C").mol)
    assert g.neighbor_indices.shape == (1, 1) and g.bond_features.max() == 0


def test_pad_graphs_pads_to_the_largest_and_rounds_up():
    graphs = [featurize.graph(featurize.standardize(s).mol) for s in ("CCO", "c1ccccc1CCN")]
    padded = featurize.pad_graphs(graphs, multiple=8)
    assert padded["atom_features"].shape == (2, 16, featurize.ATOM_FEATURES)
    assert padded["neighbor_indices"].shape == (2, 16, 3) and padded["neighbor_indices"].dtype == np.int32
    assert padded["atom_features"][0, 3:].max() == 0 and padded["atom_features"][0, :3].max() > 0
    with pytest.raises(ValueError, match="the padding allows 4"):
        featurize.pad_graphs(graphs, num_atoms=4)


def test_fingerprints_and_descriptors():
    mols = [featurize.standardize(s).mol for s in ("CCO", "c1ccccc1O")]
    bits = featurize.morgan_fingerprints(mols, radius=2, size=1024)
    assert bits.shape == (2, 1024) and bits.dtype == np.uint8 and set(np.unique(bits)) <= {0, 1}
    assert bits[0].sum() > 0 and not np.array_equal(bits[0], bits[1])
    values = featurize.descriptors(mols, ("MolWt", "TPSA"))
    np.testing.assert_allclose(values[0, 0], 46.069, atol=0.01)
    with pytest.raises(ValueError, match=r"Unknown RDKit descriptor\(s\) \['MolWeight'\]"):
        featurize.descriptors(mols, ("MolWeight",))


def test_murcko_scaffold():
    assert featurize.murcko_scaffold(featurize.standardize("Cc1ccccc1CCN").mol) == "c1ccccc1"
    assert featurize.murcko_scaffold(featurize.standardize("CCCC").mol) == ""
