"""Molecules -> numbers with RDKit: standardised molecules, graphs, fingerprints, descriptors.

Everything a model sees is computed here, in one place, so training and ``predict.py`` featurise
a SMILES string the same way:

- :func:`standardize`: parse a SMILES string and keep its largest fragment (salts and solvents
  dropped, as ``rdMolStandardize.LargestFragmentChooser`` does), returning the canonical SMILES
  used for deduplication;
- :func:`graph`: one molecule as a graph in *neighbour-list* form: atom features
  ``[atoms, ATOM_FEATURES]``, for every atom the indices of its bonded neighbours
  ``[atoms, max_degree]`` and the features of those bonds ``[atoms, max_degree, BOND_FEATURES]``;
- :func:`pad_graphs`: several graphs padded to one ``[batch, atoms, ...]`` block (the models'
  input format, see README "Why padded graphs");
- :func:`morgan_fingerprints`: Morgan (ECFP4-like) bit vectors via ``rdFingerprintGenerator``;
- :func:`descriptors`: a few whole-molecule RDKit descriptors ("global features", as in Chemprop).

Atom features are one-hot with an "other" slot wherever a vocabulary is finite, so an element
(or charge, hybridisation ...) outside the vocabulary lands in "other" instead of failing.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Sequence

import numpy as np

# ---------------------------------------------------------------------------------------------
# Vocabularies (each one-hot block gets one extra "other" slot at the end)
# ---------------------------------------------------------------------------------------------
ELEMENTS = ("C", "N", "O", "S", "F", "Cl", "Br", "I", "P", "B", "Si", "Se", "H")
DEGREES = (0, 1, 2, 3, 4, 5)
FORMAL_CHARGES = (-2, -1, 0, 1, 2)
HYDROGEN_COUNTS = (0, 1, 2, 3, 4)
HYBRIDIZATIONS = ("SP", "SP2", "SP3", "SP3D", "SP3D2")
CHIRAL_TAGS = ("CHI_UNSPECIFIED", "CHI_TETRAHEDRAL_CW", "CHI_TETRAHEDRAL_CCW")
RING_SIZES = (3, 4, 5, 6, 7, 8)
BOND_TYPES = ("SINGLE", "DOUBLE", "TRIPLE", "AROMATIC")
BOND_STEREO = ("STEREONONE", "STEREOANY", "STEREOZ", "STEREOE", "STEREOCIS", "STEREOTRANS")

# Whole-molecule descriptors from rdkit.Chem.Descriptors; physically meaningful for solubility and
# permeability (logP, polarity, size, flexibility, hydrogen bonding, aromaticity).
DEFAULT_DESCRIPTORS = (
    "MolLogP", "MolMR", "MolWt", "TPSA", "NumHDonors", "NumHAcceptors", "NumRotatableBonds",
    "RingCount", "NumAromaticRings", "FractionCSP3", "HeavyAtomCount", "NumHeteroatoms",
)


def _one_hot(value, vocabulary: Sequence) -> list[float]:
    """One-hot over ``vocabulary`` plus a final "other" slot for anything outside it."""
    encoding = [0.0] * (len(vocabulary) + 1)
    encoding[vocabulary.index(value) if value in vocabulary else len(vocabulary)] = 1.0
    return encoding


ATOM_FEATURE_NAMES = tuple(
    [f"element={e}" for e in (*ELEMENTS, "other")]
    + [f"degree={d}" for d in (*DEGREES, "other")]
    + [f"formal_charge={c}" for c in (*FORMAL_CHARGES, "other")]
    + [f"hydrogens={h}" for h in (*HYDROGEN_COUNTS, "other")]
    + [f"hybridization={h}" for h in (*HYBRIDIZATIONS, "other")]
    + [f"chirality={c}" for c in (*CHIRAL_TAGS, "other")]
    + ["aromatic", "in_ring"]
    + [f"in_ring_of_size={s}" for s in RING_SIZES]
    + ["mass/100"]
)
BOND_FEATURE_NAMES = tuple(
    [f"bond_type={t}" for t in (*BOND_TYPES, "other")]
    + ["conjugated", "in_ring"]
    + [f"stereo={s}" for s in (*BOND_STEREO, "other")]
)
ATOM_FEATURES = len(ATOM_FEATURE_NAMES)
BOND_FEATURES = len(BOND_FEATURE_NAMES)


def atom_features(atom) -> list[float]:
    """Features of one RDKit atom (length ATOM_FEATURES; see ATOM_FEATURE_NAMES)."""
    return (
        _one_hot(atom.GetSymbol(), ELEMENTS)
        + _one_hot(atom.GetDegree(), DEGREES)
        + _one_hot(atom.GetFormalCharge(), FORMAL_CHARGES)
        + _one_hot(atom.GetTotalNumHs(), HYDROGEN_COUNTS)
        + _one_hot(str(atom.GetHybridization()), HYBRIDIZATIONS)
        + _one_hot(str(atom.GetChiralTag()), CHIRAL_TAGS)
        + [float(atom.GetIsAromatic()), float(atom.IsInRing())]
        + [float(atom.IsInRingSize(size)) for size in RING_SIZES]
        + [atom.GetMass() / 100.0]
    )


def bond_features(bond) -> list[float]:
    """Features of one RDKit bond (length BOND_FEATURES). The bond-type block always has one
    slot set, which is how the models tell a real bond from padding."""
    return (
        _one_hot(str(bond.GetBondType()), BOND_TYPES)
        + [float(bond.GetIsConjugated()), float(bond.IsInRing())]
        + _one_hot(str(bond.GetStereo()), BOND_STEREO)
    )


# ---------------------------------------------------------------------------------------------
# Parsing and standardisation
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Parsed:
    """A parsed SMILES string: the molecule kept (largest fragment) and what was done to it."""

    mol: object | None  # rdkit.Chem.Mol, or None when the SMILES could not be used
    canonical_smiles: str | None
    fragments: int  # fragments in the input (1 for a plain molecule)
    error: str | None = None  # why the SMILES could not be used


@functools.lru_cache(maxsize=1)
def _fragment_chooser():
    from rdkit.Chem.MolStandardize import rdMolStandardize

    return rdMolStandardize.LargestFragmentChooser(preferOrganic=True)


def standardize(smiles: str) -> Parsed:
    """Parse ``smiles`` and keep its largest (organic) fragment.

    Never raises for bad input: an unparseable or empty SMILES comes back with ``mol=None`` and
    the reason in ``error``. RDKit's own parse warnings are silenced (the caller counts failures).
    """
    from rdkit import Chem, rdBase

    if not isinstance(smiles, str) or not smiles.strip():
        return Parsed(None, None, 0, "empty SMILES")
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles.strip())
    if mol is None:
        return Parsed(None, None, 0, "RDKit cannot parse this SMILES")
    fragments = len(Chem.GetMolFrags(mol))
    if fragments > 1:
        with rdBase.BlockLogs():
            mol = _fragment_chooser().choose(mol)
    if mol.GetNumAtoms() == 0:
        return Parsed(None, None, fragments, "molecule has no atoms")
    return Parsed(mol, Chem.MolToSmiles(mol), fragments)


# ---------------------------------------------------------------------------------------------
# Graphs
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Graph:
    """One molecule in neighbour-list form (``max_degree`` is this molecule's, at least 1)."""

    atom_features: np.ndarray  # float32 [atoms, ATOM_FEATURES]
    neighbor_indices: np.ndarray  # int32 [atoms, max_degree]: atom index of each neighbour (0 = pad)
    bond_features: np.ndarray  # float32 [atoms, max_degree, BOND_FEATURES]: all zero where padded

    @property
    def num_atoms(self) -> int:
        return int(self.atom_features.shape[0])


def graph(mol) -> Graph:
    """The neighbour-list graph of an RDKit molecule (heavy atoms; hydrogens are atom features)."""
    num_atoms = mol.GetNumAtoms()
    atoms = np.asarray([atom_features(atom) for atom in mol.GetAtoms()], dtype=np.float32)
    max_degree = max([atom.GetDegree() for atom in mol.GetAtoms()] + [1])
    neighbors = np.zeros((num_atoms, max_degree), dtype=np.int32)
    bonds = np.zeros((num_atoms, max_degree, BOND_FEATURES), dtype=np.float32)
    filled = np.zeros(num_atoms, dtype=np.int64)
    for bond in mol.GetBonds():
        features = bond_features(bond)
        begin, end = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        for source, target in ((begin, end), (end, begin)):
            neighbors[target, filled[target]] = source
            bonds[target, filled[target]] = features
            filled[target] += 1
    return Graph(atoms, neighbors, bonds)


def pad_graphs(graphs: Sequence[Graph], num_atoms: int | None = None, max_degree: int | None = None,
               multiple: int = 1) -> dict[str, np.ndarray]:
    """Stack graphs into padded arrays (the models' inputs).

    Sizes default to the largest in ``graphs``, rounded up to a multiple of ``multiple`` (fewer
    distinct shapes means fewer retraces under jit). Returns ``atom_features`` [B, N, Fa],
    ``neighbor_indices`` [B, N, D] and ``bond_features`` [B, N, D, Fb].
    """
    if not graphs:
        raise ValueError("pad_graphs needs at least one graph; received none.")

    def round_up(value: int) -> int:
        return -(-value // multiple) * multiple

    num_atoms = num_atoms or round_up(max(g.num_atoms for g in graphs))
    max_degree = max_degree or max(g.neighbor_indices.shape[1] for g in graphs)
    atoms = np.zeros((len(graphs), num_atoms, ATOM_FEATURES), dtype=np.float32)
    neighbors = np.zeros((len(graphs), num_atoms, max_degree), dtype=np.int32)
    bonds = np.zeros((len(graphs), num_atoms, max_degree, BOND_FEATURES), dtype=np.float32)
    for i, g in enumerate(graphs):
        n, d = g.neighbor_indices.shape
        if n > num_atoms or d > max_degree:
            raise ValueError(f"Graph {i} has {n} atoms and degree {d}; the padding allows {num_atoms} and {max_degree}.")
        atoms[i, :n] = g.atom_features
        neighbors[i, :n, :d] = g.neighbor_indices
        bonds[i, :n, :d] = g.bond_features
    return {"atom_features": atoms, "neighbor_indices": neighbors, "bond_features": bonds}


# ---------------------------------------------------------------------------------------------
# Fingerprints and descriptors
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _morgan_generator(radius: int, size: int):
    from rdkit.Chem import rdFingerprintGenerator

    return rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=size)


def morgan_fingerprints(mols: Iterable, radius: int = 2, size: int = 2048) -> np.ndarray:
    """Morgan fingerprint bits, uint8 [molecules, size] (radius 2 is ECFP4-like)."""
    generator = _morgan_generator(radius, size)
    rows = [generator.GetFingerprintAsNumPy(mol) for mol in mols]
    return np.asarray(rows, dtype=np.uint8).reshape(len(rows), size)


@functools.lru_cache(maxsize=1)
def _descriptor_functions() -> dict:
    from rdkit.Chem import Descriptors

    return dict(Descriptors.descList)


def check_descriptor_names(names: Sequence[str]) -> None:
    """Raise ValueError naming any name that is not an RDKit descriptor."""
    known = _descriptor_functions()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"Unknown RDKit descriptor(s) {unknown}; expected names from rdkit.Chem.Descriptors."
            f"descList, e.g. {list(DEFAULT_DESCRIPTORS[:6])}."
        )


def descriptors(mols: Iterable, names: Sequence[str] = DEFAULT_DESCRIPTORS) -> np.ndarray:
    """RDKit descriptors, float32 [molecules, len(names)]; non-finite values become 0."""
    check_descriptor_names(names)
    functions = [_descriptor_functions()[name] for name in names]
    rows = []
    for mol in mols:
        rows.append([function(mol) for function in functions])
    values = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(names))
    values = np.where(np.isfinite(values), values, 0.0)
    return np.clip(values, -1e6, 1e6).astype(np.float32)


def murcko_scaffold(mol) -> str:
    """The Bemis-Murcko scaffold as canonical SMILES ('' for acyclic molecules)."""
    from rdkit.Chem.Scaffolds import MurckoScaffold

    return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False)
