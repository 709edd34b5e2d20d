"""Molecule datasets: CSV -> cleaned, deduplicated molecules -> splits -> pipelines.

Sources, in the order of CONVENTIONS.md:

1. a local file: the MoleculeNet CSV under ``--data-dir`` (``<data-dir>/drug_discovery/esol/``,
   ``<data-dir>/esol/`` or ``<data-dir>`` itself), or any CSV named by ``--csv-path``;
2. MoleculeNet's official URLs (DeepChem's dataset bucket), cached and checked by SHA-256 where
   the file is known (ESOL and BBBP: the checksums of the copies these results were made with);
3. the offline default bundled in the rdkit wheel: ``Contrib/FreeWilson/data/CHEMBL2321810``
   (1,017 molecules with measured pIC50-style activity).

Cleaning (every count goes to metrics.json under ``skipped``): unparseable SMILES are skipped and
their row numbers logged; salts and mixtures keep their largest fragment; non-numeric targets
become missing; rows with no target at all are skipped; duplicate molecules (same canonical
SMILES) are merged *before* splitting so no molecule sits in two splits (regression targets
averaged; conflicting classification labels dropped for that task).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from applications.drug_discovery import featurize
from common import data as data_lib
from common.data import Skipped, Source, SourceUnavailable
from common.errors import DataError

log = logging.getLogger("keras_applied.drug_discovery")

MOLECULENET_URL = "https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/"


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Where a MoleculeNet dataset lives and which columns hold what."""

    name: str
    filename: str  # the file's name locally and at the official URL
    folder_names: tuple[str, ...]  # folder names tried under --data-dir
    smiles_column: str
    target_columns: tuple[str, ...]
    task_type: str  # "regression" or "classification"
    sha256: str | None = None  # known checksum of the official file, when we have one
    description: str = ""

    @property
    def url(self) -> str:
        return MOLECULENET_URL + self.filename


TOX21_TASKS = (
    "NR-AR", "NR-AR-LBD", "NR-AhR", "NR-Aromatase", "NR-ER", "NR-ER-LBD", "NR-PPAR-gamma",
    "SR-ARE", "SR-ATAD5", "SR-HSE", "SR-MMP", "SR-p53",
)
SPECS = {
    spec.name: spec
    for spec in (
        DatasetSpec("esol", "delaney-processed.csv", ("esol", "delaney"), "smiles",
                    ("measured log solubility in mols per litre",), "regression",
                    "e91dc7027cbaeec3872a45b2522c46676e483c123b1c97172839d858a2f26d9c",
                    "aqueous solubility, log mol/L (Delaney 2004), 1,128 molecules"),
        DatasetSpec("bbbp", "BBBP.csv", ("bbbp",), "smiles", ("p_np",), "classification",
                    "3dec6354d1082d0a22d619d8a1c41683a958e1094476beb9a35186bf630c45b9",
                    "blood-brain barrier penetration (Martins et al. 2012), 2,050 compounds"),
        DatasetSpec("freesolv", "SAMPL.csv", ("freesolv", "sampl"), "smiles", ("expt",), "regression",
                    description="hydration free energy, kcal/mol (FreeSolv), 642 molecules"),
        DatasetSpec("lipophilicity", "Lipophilicity.csv", ("lipophilicity", "lipo"), "smiles", ("exp",),
                    "regression", description="octanol/water logD at pH 7.4 (ChEMBL), 4,200 compounds"),
        DatasetSpec("tox21", "tox21.csv.gz", ("tox21",), "smiles", TOX21_TASKS, "classification",
                    description="12 toxicity assays with missing labels (Tox21 challenge), 7,831 compounds"),
        DatasetSpec("clintox", "clintox.csv.gz", ("clintox",), "smiles", ("FDA_APPROVED", "CT_TOX"),
                    "classification", description="FDA approval and clinical-trial toxicity, 1,478 drugs"),
        DatasetSpec("hiv", "HIV.csv", ("hiv",), "smiles", ("HIV_active",), "classification",
                    description="inhibition of HIV replication (DTP AIDS screen), 41,127 compounds"),
    )
}
BUNDLED = "freewilson"
DATASETS = ("auto", *SPECS, BUNDLED, "csv")


@dataclasses.dataclass
class MoleculeData:
    """Cleaned, deduplicated molecules with their targets ([molecules, tasks], NaN = missing)."""

    name: str
    source: str  # "local", "online", "bundled" or "file"
    smiles: list[str]  # canonical SMILES of the molecule kept (largest fragment)
    mols: list  # rdkit.Chem.Mol, aligned with smiles
    targets: np.ndarray  # float32 [molecules, tasks]
    task_names: list[str]
    task_type: str  # "regression" or "classification"
    input_rows: int
    skipped: Skipped = dataclasses.field(default_factory=Skipped)  # rows not used
    adjusted: Skipped = dataclasses.field(default_factory=data_lib.adjusted)  # rows used after a change

    def __len__(self) -> int:
        return len(self.smiles)

    def subset(self, indices: np.ndarray) -> MoleculeData:
        indices = np.asarray(indices, dtype=int)
        return dataclasses.replace(
            self, smiles=[self.smiles[i] for i in indices], mols=[self.mols[i] for i in indices],
            targets=self.targets[indices],
        )


# ---------------------------------------------------------------------------------------------
# Reading and cleaning a table of SMILES and targets
# ---------------------------------------------------------------------------------------------
def find_column(columns: Sequence[str], wanted: str, what: str, source: str) -> str:
    """``wanted`` among ``columns`` (exact, else case-insensitive); DataError listing them if absent."""
    columns = [str(c) for c in columns]
    if wanted in columns:
        return wanted
    folded = {c.strip().lower(): c for c in columns}
    if wanted.strip().lower() in folded:
        return folded[wanted.strip().lower()]
    raise DataError(
        f"{source}: expected a {what} column named {wanted!r}. Received columns: {columns}. "
        "Name the right one with --smiles-column / --target-columns."
    )


def infer_task_type(values: np.ndarray) -> str:
    """'classification' when every present value is 0 or 1, else 'regression'."""
    present = values[~np.isnan(values)]
    return "classification" if present.size and np.isin(present, (0.0, 1.0)).all() else "regression"


def clean_table(
    frame,
    *,
    smiles_column: str,
    target_columns: Sequence[str],
    task_type: str = "auto",
    source: str,
    name: str,
    origin: str,
) -> MoleculeData:
    """Parse, standardise, check and deduplicate the rows of a DataFrame (see module docstring).

    ``task_type`` 'auto' infers it from the values: all 0/1 -> classification.
    """
    import pandas as pd

    if not target_columns:
        raise DataError(f"{source}: no target column given; pass --target-columns (columns: {list(frame.columns)}).")
    smiles_column = find_column(frame.columns, smiles_column, "SMILES", source)
    target_columns = [find_column(frame.columns, column, "target", source) for column in target_columns]
    skipped, adjusted = Skipped(), data_lib.adjusted()

    raw_targets = frame[target_columns]
    numeric = raw_targets.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    non_numeric = raw_targets.notna().to_numpy() & np.isnan(numeric)
    for row, column in zip(*np.nonzero(non_numeric)):
        adjusted.add("non-numeric target treated as missing",
                     f"row {row + 2} {target_columns[column]}={raw_targets.iat[row, column]!r}")
    if task_type == "auto":
        task_type = infer_task_type(numeric)
    elif task_type == "classification":
        present = numeric[~np.isnan(numeric)]
        bad = present[~np.isin(present, (0.0, 1.0))]
        if bad.size:
            raise DataError(
                f"{source}: --task-type classification expects 0/1 targets in {target_columns}; "
                f"received values such as {sorted(set(bad.tolist()))[:5]}."
            )

    unparseable_rows = []
    by_smiles: dict[str, list[int]] = defaultdict(list)
    mols: dict[str, object] = {}
    for row, smiles in enumerate(frame[smiles_column].tolist()):
        line = row + 2  # 1-based, after the header line: the number an editor shows
        if np.isnan(numeric[row]).all():
            skipped.add("no target value", f"row {line}")
            continue
        parsed = featurize.standardize(smiles if isinstance(smiles, str) else "")
        if parsed.mol is None:
            skipped.add("unparseable SMILES", f"row {line}: {smiles!r} ({parsed.error})")
            unparseable_rows.append(line)
            continue
        if parsed.fragments > 1:
            adjusted.add("several fragments (salt or mixture): largest kept", f"row {line}: {smiles}")
        by_smiles[parsed.canonical_smiles].append(row)
        mols.setdefault(parsed.canonical_smiles, parsed.mol)
    if unparseable_rows:
        log.warning("%s: skipped %d unparseable SMILES at rows %s", source, len(unparseable_rows),
                    ", ".join(map(str, unparseable_rows)))

    smiles_kept, targets = [], []
    for canonical, rows in by_smiles.items():
        values = numeric[rows]  # [duplicates, tasks]
        if len(rows) > 1:
            adjusted.add("duplicate molecules merged", f"rows {', '.join(str(r + 2) for r in rows)}: {canonical}",
                         count=len(rows) - 1)
        with np.errstate(all="ignore"), _quiet_nanmean():
            merged = np.nanmean(values, axis=0)
        if task_type == "classification":
            conflict = (np.nanmin(np.where(np.isnan(values), np.inf, values), axis=0) == 0) & (np.nanmax(np.where(np.isnan(values), -np.inf, values), axis=0) == 1)
            if conflict.any():
                adjusted.add("conflicting labels of duplicates dropped", canonical, count=int(conflict.sum()))
                merged = np.where(conflict, np.nan, merged)
        if np.isnan(merged).all():
            skipped.add("no usable target after merging duplicates", canonical)
            continue
        smiles_kept.append(canonical)
        targets.append(merged)
    if not smiles_kept:
        raise DataError(f"{source}: none of the {len(frame)} rows has both a usable SMILES and a target.")
    skipped.log(f"{source} rows")
    adjusted.log(f"{source} rows (changed, still used)")
    return MoleculeData(
        name=name, source=origin, smiles=smiles_kept, mols=[mols[s] for s in smiles_kept],
        targets=np.asarray(targets, dtype=np.float32).reshape(len(smiles_kept), len(target_columns)),
        task_names=list(target_columns), task_type=task_type, input_rows=len(frame),
        skipped=skipped, adjusted=adjusted,
    )


class _quiet_nanmean:
    """np.nanmean warns on all-NaN columns (a task missing for a molecule); that is expected."""

    def __enter__(self):
        import warnings

        self._context = warnings.catch_warnings()
        self._context.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._context.__exit__(*exc)


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------
def _local_file(spec: DatasetSpec, data_dir: str | None) -> Path:
    folder = data_lib.find_dataset_dir(data_dir, spec.folder_names, [spec.filename], "drug_discovery")
    return folder / spec.filename


def _online_file(spec: DatasetSpec) -> Path:
    return data_lib.download(spec.url, spec.sha256, cache_subdir="moleculenet")


def freewilson_frame():
    """The rdkit wheel's CHEMBL2321810 set: ``.smi`` (SMILES, id) joined with ``_act.csv`` (id, Act)."""
    import pandas as pd

    try:
        from rdkit import RDConfig
    except ImportError as error:  # pragma: no cover - rdkit is this domain's requirement
        raise SourceUnavailable(f"rdkit is not installed ({error}).") from error
    folder = Path(RDConfig.RDContribDir) / "FreeWilson" / "data"
    smi, act = folder / "CHEMBL2321810.smi", folder / "CHEMBL2321810_act.csv"
    if not (smi.is_file() and act.is_file()):
        raise SourceUnavailable(f"this rdkit build has no {smi} / {act}.")
    molecules = pd.read_csv(smi, sep=r"\s+", header=None, names=["smiles", "Name"], dtype={"Name": str})
    activity = pd.read_csv(act, dtype={"Name": str})
    return molecules.merge(activity, on="Name", how="inner")


def load(
    dataset: str,
    *,
    data_dir: str | None = None,
    csv_path: str | None = None,
    smiles_column: str | None = None,
    target_columns: Sequence[str] = (),
    task_type: str = "auto",
    max_molecules: int = 0,
    seed: int = 0,
) -> MoleculeData:
    """Resolve ``dataset`` to cleaned molecules.

    ``auto``: ESOL from the first source that has it, else the bundled FreeWilson set. ``csv``:
    ``csv_path`` with ``smiles_column`` and ``target_columns``. ``smiles_column`` /
    ``target_columns`` / ``task_type`` override a named dataset's own.
    """
    if dataset == "auto":
        try:
            return load("esol", data_dir=data_dir, smiles_column=smiles_column, target_columns=target_columns,
                        task_type=task_type, max_molecules=max_molecules, seed=seed)
        except data_lib.DataNotFoundError as why:
            log.warning("ESOL not found (%s); using the FreeWilson set bundled with rdkit.", why)
            dataset = BUNDLED

    if dataset == "csv":
        if not csv_path:
            raise DataError("--dataset csv needs --csv-path pointing at a CSV with a SMILES column and target column(s).")
        frame = data_lib.read_table(csv_path)
        name, origin, source = Path(csv_path).stem, "file", str(csv_path)
        smiles_column = smiles_column or "smiles"
        if not target_columns:
            others = [c for c in frame.columns if str(c).strip().lower() != smiles_column.lower()]
            raise DataError(f"{csv_path}: name the target column(s) with --target-columns; columns found: {others}.")
    elif dataset == BUNDLED:
        frame, origin, name, source = freewilson_frame(), "bundled", BUNDLED, "rdkit Contrib/FreeWilson CHEMBL2321810"
        smiles_column = smiles_column or "smiles"
        target_columns = target_columns or ("Act",)
        task_type = task_type if task_type != "auto" else "regression"
    elif dataset in SPECS:
        spec = SPECS[dataset]
        sources = [
            Source("local", lambda: _local_file(spec, data_dir),
                   f"point --data-dir at a folder holding {spec.filename} (or its parent drug_discovery/{spec.folder_names[0]}/)."),
            Source("online", lambda: _online_file(spec), f"be online to download {spec.url} (cached afterwards)."),
        ]
        path, origin = data_lib.resolve(dataset, sources)
        frame = data_lib.read_table(path)
        name, source = dataset, str(path)
        smiles_column = smiles_column or spec.smiles_column
        target_columns = target_columns or spec.target_columns
        task_type = task_type if task_type != "auto" else spec.task_type
    else:
        raise DataError(f"Unknown drug_discovery dataset {dataset!r}; expected one of {list(DATASETS)}.")

    molecules = clean_table(frame, smiles_column=smiles_column, target_columns=target_columns,
                            task_type=task_type, source=source, name=name, origin=origin)
    if max_molecules and len(molecules) > max_molecules:
        chosen = np.sort(np.random.default_rng(seed).choice(len(molecules), max_molecules, replace=False))
        molecules = molecules.subset(chosen)
    log.info("%s (%s): %d molecules from %d rows, %d task(s) [%s]: %s", name, origin, len(molecules),
             molecules.input_rows, len(molecules.task_names), molecules.task_type, ", ".join(molecules.task_names))
    return molecules


# ---------------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------------
def scaffold_split_indices(mols: Sequence, fractions: Sequence[float], seed: int) -> list[np.ndarray]:
    """Bemis-Murcko scaffold split, balanced and seeded (Chemprop's ``scaffold_balanced``).

    Molecules sharing a scaffold stay in one split, so test molecules have scaffolds never seen in
    training. Scaffold sets larger than half the validation or test size go first (to train,
    unless full), the rest in a seeded random order; each set goes to the first split with room.
    """
    fractions = np.asarray(fractions, dtype=float)
    if len(fractions) != 3 or np.any(fractions < 0) or not np.isclose(fractions.sum(), 1.0):
        raise ValueError(f"Expected three split fractions summing to 1; received {list(fractions)}.")
    groups: dict[str, list[int]] = defaultdict(list)
    for index, mol in enumerate(mols):
        groups[featurize.murcko_scaffold(mol)].append(index)
    sizes = fractions * len(mols)
    rng = np.random.default_rng(seed)
    sets = list(groups.values())
    big = [s for s in sets if len(s) > sizes[1] / 2 or len(s) > sizes[2] / 2]
    small = [s for s in sets if not (len(s) > sizes[1] / 2 or len(s) > sizes[2] / 2)]
    rng.shuffle(big)
    rng.shuffle(small)
    parts: list[list[int]] = [[], [], []]
    for members in big + small:
        for part, capacity in zip(parts, sizes):
            if len(part) + len(members) <= capacity:
                part.extend(members)
                break
        else:
            parts[0].extend(members)
    return [np.sort(np.asarray(p, dtype=int)) for p in parts]


def split(molecules: MoleculeData, method: str, validation_fraction: float, test_fraction: float,
          seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, validation, test) indices by ``method``: 'scaffold' or 'random', seeded."""
    fractions = [1.0 - validation_fraction - test_fraction, validation_fraction, test_fraction]
    if method == "scaffold":
        train, validation, test = scaffold_split_indices(molecules.mols, fractions, seed)
    elif method == "random":
        train, validation, test = data_lib.split_indices(len(molecules), fractions, seed)
    else:
        raise ValueError(f"Unknown split method {method!r}; expected 'scaffold' or 'random'.")
    if min(len(train), len(validation), len(test)) == 0:
        raise DataError(
            f"{molecules.name}: the {method} split of {len(molecules)} molecules left an empty split "
            f"({len(train)} / {len(validation)} / {len(test)}); use more molecules or larger fractions."
        )
    return train, validation, test


# ---------------------------------------------------------------------------------------------
# Features and pipelines
# ---------------------------------------------------------------------------------------------
# Atom-count boundaries of the batching buckets (molecules of ESOL: median 12 atoms; BBBP: 23).
BUCKET_BOUNDARIES = [16, 24, 32, 40, 56, 80]


@dataclasses.dataclass
class Features:
    """Everything the models can take, computed once per dataset (aligned with its molecules)."""

    graphs: list  # featurize.Graph per molecule
    fingerprints: np.ndarray  # uint8 [molecules, bits]
    global_features: np.ndarray  # float32 [molecules, G] (G may be 0)


def featurize_molecules(mols: Sequence, *, descriptor_names: Sequence[str], fingerprint_radius: int,
                        fingerprint_bits: int, graphs: bool = True) -> Features:
    from tqdm.auto import tqdm

    graph_list = []
    if graphs:
        iterator = tqdm(mols, desc="molecular graphs", unit="mol", disable=len(mols) < 2000, mininterval=2)
        graph_list = [featurize.graph(mol) for mol in iterator]
    fingerprints = featurize.morgan_fingerprints(mols, fingerprint_radius, fingerprint_bits)
    descriptors = (featurize.descriptors(mols, descriptor_names) if descriptor_names
                   else np.zeros((len(mols), 0), np.float32))
    return Features(graph_list, fingerprints, descriptors)


def model_inputs(features: Features, indices: np.ndarray, kind: str, multiple: int = 8) -> dict[str, np.ndarray]:
    """NumPy inputs of one batch for a model of ``kind`` ('mpnn' or 'fingerprint_mlp')."""
    indices = np.asarray(indices, dtype=int)
    if kind == "mpnn":
        inputs = featurize.pad_graphs([features.graphs[i] for i in indices], multiple=multiple)
    else:
        inputs = {"fingerprint": features.fingerprints[indices].astype(np.float32)}
    if features.global_features.shape[1]:
        inputs["global_features"] = features.global_features[indices]
    return inputs


def batches_per_epoch(num_atoms: Sequence[int], batch_size: int, bucket: bool = True) -> int:
    """Batches a (bucketed) graph pipeline yields per epoch: full batches plus one partial batch
    per non-empty bucket of molecules with ``BUCKET_BOUNDARIES[k-1] <= atoms < BUCKET_BOUNDARIES[k]``."""
    if not bucket:
        return -(-len(num_atoms) // batch_size)
    counts = np.bincount(np.searchsorted(BUCKET_BOUNDARIES, np.asarray(num_atoms), side="right"),
                         minlength=len(BUCKET_BOUNDARIES) + 1)
    return int(sum(-(-int(c) // batch_size) for c in counts))


def pipeline(features: Features, targets: np.ndarray, indices: np.ndarray, *, kind: str, batch_size: int,
             shuffle: bool = False, seed: int = 0, multiple: int = 8, bucket: bool = True, replicas: int = 1):
    """A tf.data pipeline of (inputs dict, targets [B, tasks]) for the molecules at ``indices``.

    With ``bucket``, molecules are batched with others of similar size (buckets by atom count,
    after shuffling); each batch is padded to its largest molecule, rounded up to ``multiple``
    atoms, so small molecules do not pay for large ones and few distinct shapes are traced.
    Bucketed batches vary in number per epoch (a partial batch per bucket).

    With ``replicas`` > 1 (a distribution strategy), every batch holds a multiple of ``replicas``
    molecules (see :func:`even_batches`).
    """
    import tensorflow as tf

    indices = np.asarray(indices, dtype=int)
    y = targets[indices].astype(np.float32)
    if kind != "mpnn":
        x = {"fingerprint": features.fingerprints[indices].astype(np.float32)}
        if features.global_features.shape[1]:
            x["global_features"] = features.global_features[indices]
        dataset = data_lib.make_pipeline((x, y), batch_size=batch_size, shuffle=shuffle, seed=seed)
        return even_batches(dataset, replicas)

    num_global = features.global_features.shape[1]
    atom_width = features.graphs[0].atom_features.shape[1]
    bond_width = features.graphs[0].bond_features.shape[2]

    def generate():
        for position, index in enumerate(indices):
            g = features.graphs[index]
            example = {"atom_features": g.atom_features, "neighbor_indices": g.neighbor_indices,
                       "bond_features": g.bond_features}
            if num_global:
                example["global_features"] = features.global_features[index]
            yield example, y[position]

    signature = {
        "atom_features": tf.TensorSpec((None, atom_width), tf.float32),
        "neighbor_indices": tf.TensorSpec((None, None), tf.int32),
        "bond_features": tf.TensorSpec((None, None, bond_width), tf.float32),
    }
    if num_global:
        signature["global_features"] = tf.TensorSpec((num_global,), tf.float32)
    dataset = tf.data.Dataset.from_generator(generate, output_signature=(signature, tf.TensorSpec((y.shape[1],), tf.float32)))
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(indices))).cache()
    if shuffle:
        dataset = dataset.shuffle(len(indices), seed=seed, reshuffle_each_iteration=True)
    if bucket:
        # Batches of similar-sized molecules: padding a random batch to its largest molecule
        # wasted ~3x the compute on BBBP (median 23 atoms, largest 132).
        dataset = dataset.bucket_by_sequence_length(
            lambda x, y: tf.shape(x["atom_features"])[0], BUCKET_BOUNDARIES,
            [batch_size] * (len(BUCKET_BOUNDARIES) + 1),
        )
        # Which bucket a molecule lands in depends only on its size, so the count is fixed.
        count = batches_per_epoch([features.graphs[i].num_atoms for i in indices], batch_size)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(count))
    else:
        dataset = dataset.padded_batch(batch_size)

    def round_up_atoms(x, y):
        atoms = tf.shape(x["atom_features"])[1]
        extra = (multiple - atoms % multiple) % multiple
        x = dict(x)
        x["atom_features"] = tf.pad(x["atom_features"], [[0, 0], [0, extra], [0, 0]])
        x["neighbor_indices"] = tf.pad(x["neighbor_indices"], [[0, 0], [0, extra], [0, 0]])
        x["bond_features"] = tf.pad(x["bond_features"], [[0, 0], [0, extra], [0, 0], [0, 0]])
        return x, y

    if multiple > 1:
        dataset = dataset.map(round_up_atoms, num_parallel_calls=tf.data.AUTOTUNE)
    return even_batches(dataset.prefetch(tf.data.AUTOTUNE), replicas)


def even_batches(dataset, replicas: int):
    """Batches of a multiple of ``replicas`` examples, for a distribution strategy: a partial batch
    is cut down to a multiple (or, when smaller than ``replicas``, filled by repeating its
    examples), so the number of batches is unchanged.

    Keras' TensorFlow trainer reduces the first batch across replicas before training
    (``_maybe_symbolic_build``), which fails when a batch splits unevenly; bucketed graph batches
    end every bucket with a partial batch. The cost: up to ``replicas - 1`` molecules per partial
    batch are left out of (or repeated in) that epoch, in a new order each shuffled epoch.
    """
    if replicas <= 1:
        return dataset
    import tensorflow as tf

    def fit(x, y):
        count = tf.shape(y)[0]
        keep = tf.maximum(count // replicas * replicas, replicas)
        positions = tf.range(keep) % count
        return tf.nest.map_structure(lambda t: tf.gather(t, positions), (x, y))

    return dataset.map(fit, num_parallel_calls=tf.data.AUTOTUNE)


