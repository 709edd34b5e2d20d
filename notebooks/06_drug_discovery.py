# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Drug discovery: molecular property prediction with a message-passing network
#
# This tutorial trains the drug_discovery example of keras-applied and reads what it wrote.
# Everything here calls the package (`applications.drug_discovery`), so the notebook and the
# command `keras-applied run drug_discovery` are the same code.
#
# You will see:
# 1. how molecules are read and cleaned (bad SMILES, salts, duplicates) and split by scaffold;
# 2. how RDKit turns a molecule into a graph, a fingerprint and a few descriptors;
# 3. the message-passing neural network (MPNN), written with `keras.ops` only;
# 4. training an ensemble over seeds beside a random-forest and a fingerprint-MLP baseline;
# 5. predictions for new SMILES with the ensemble's spread as uncertainty.
#
# The preset comes from `KERAS_APPLIED_NOTEBOOK_PRESET` (`quick` unless set; the tests use
# `smoke`). Point `KERAS_APPLIED_DATA_DIR` at a folder holding the MoleculeNet ESOL CSV
# (`delaney-processed.csv`) to train on it; without one, the FreeWilson set bundled with rdkit
# (1,017 molecules with measured activities) is used.

# %%
import os

import numpy as np
from IPython.display import Image, display

from applications.drug_discovery import data, featurize, predict, train
from applications.drug_discovery.config import DrugDiscoveryConfig

PRESET = os.environ.get("KERAS_APPLIED_NOTEBOOK_PRESET", "quick")
config = DrugDiscoveryConfig.from_preset(PRESET)
print(config.command("drug_discovery"))

# %% [markdown]
# ## 1. The data
#
# `data.load` finds the dataset (a local folder, the official MoleculeNet URL, or the set bundled
# with rdkit), parses every SMILES with RDKit, keeps the largest fragment of salts, and merges
# duplicate molecules *before* splitting, so no molecule is in both training and test. Every row
# that is dropped or changed is counted.

# %%
molecules = data.load(config.dataset, data_dir=config.data_dir, max_molecules=config.max_molecules, seed=config.seed)
print(f"{molecules.name} ({molecules.source}): {len(molecules)} molecules from {molecules.input_rows} rows,"
      f" task(s) {molecules.task_names} [{molecules.task_type}]")
print("skipped:", molecules.skipped.to_dict())
print("changed:", dict(molecules.adjusted.counts))

# %% [markdown]
# A **scaffold split** groups molecules by their Bemis-Murcko scaffold (the ring systems and
# the linkers between them) and puts whole groups into train, validation or test. Test molecules
# then have scaffolds the model never saw: harder than a random split, and closer to predicting
# new chemistry.

# %%
train_idx, validation_idx, test_idx = data.split(molecules, "scaffold", config.validation_fraction,
                                                 config.test_fraction, seed=config.seed)
scaffolds = [{featurize.murcko_scaffold(molecules.mols[i]) for i in part} for part in (train_idx, test_idx)]
print(f"{len(train_idx)} train / {len(validation_idx)} validation / {len(test_idx)} test molecules;"
      f" scaffolds shared by train and test: {len(scaffolds[0] & scaffolds[1])}")

# %% [markdown]
# ## 2. From a molecule to numbers
#
# The MPNN sees a graph: one feature vector per heavy atom (element with an "other" slot, degree,
# formal charge, hydrogens, hybridisation, aromaticity, ring membership ...) and, for every atom,
# the list of its neighbours with the features of the bonds to them (type, conjugation, ring,
# stereo). Graphs of a batch are padded to the same number of atoms; all-zero rows are padding.

# %%
paracetamol = featurize.standardize("CC(=O)Nc1ccc(O)cc1").mol
graph = featurize.graph(paracetamol)
print("atom features", graph.atom_features.shape, "| neighbours", graph.neighbor_indices.shape,
      "| bond features", graph.bond_features.shape)
print("first atom:", [name for name, value in zip(featurize.ATOM_FEATURE_NAMES, graph.atom_features[0]) if value])
print("descriptors:", dict(zip(featurize.DEFAULT_DESCRIPTORS[:4], featurize.descriptors([paracetamol])[0][:4].round(2))))
print("Morgan bits set:", int(featurize.morgan_fingerprints([paracetamol]).sum()), "of 2048")

# %% [markdown]
# ## 3. The model
#
# Atom features are embedded, then `message_steps` rounds of edge-conditioned message passing
# update every atom from its neighbours (a GRU update, weights shared across steps). An attention
# readout and a sum over atoms turn atom states into one vector per molecule; a few RDKit
# descriptors join it ("global features"), and a dense head predicts every task.

# %%
features = data.featurize_molecules(molecules.mols, descriptor_names=config.descriptor_names,
                                    fingerprint_radius=config.fingerprint_radius, fingerprint_bits=config.fingerprint_bits)
model = train.build_member(config, "mpnn", num_tasks=len(molecules.task_names), global_mean=None,
                          global_variance=None, name="mpnn")
model.summary(line_length=100)
batch = data.model_inputs(features, np.arange(4), "mpnn")
print({name: value.shape for name, value in batch.items()}, "->", model.predict(batch, verbose=0).shape)

# %% [markdown]
# ## 4. Train and evaluate
#
# `train.train_and_evaluate` is the one entry point the command line, this notebook and the
# tests share. For each replicate (split seed) it trains an ensemble of MPNNs, the fingerprint
# MLP and the random forest on the same split, and reports the mean and standard deviation over
# replicates. It writes `results/drug_discovery/<dataset>/<preset>/` and keeps the model file in
# a work folder outside git.

# %%
metrics = train.train_and_evaluate(config)
metrics

# %% [markdown]
# ## 5. Results
#
# The parity plot (predicted against measured test values), the error against the ensemble's
# spread (large spread should flag large errors), and the learning curves of the first member.

# %%
run_dir = metrics["results_dir"]
for name in sorted(os.listdir(os.path.join(run_dir, "plots"))):
    display(Image(filename=os.path.join(run_dir, "plots", name)))

# %% [markdown]
# ## 6. Predict new molecules
#
# The saved ensemble takes SMILES through `predict.predict_smiles`: each molecule is featurised
# exactly as in training; an unusable SMILES gets its own error and the others still predict.

# %%
for entry in predict.predict_smiles(metrics["model_path"], ["CC(=O)Nc1ccc(O)cc1", "c1ccccc1", "not-a-molecule"]):
    if "error" in entry:
        print(f"{entry['input']}: error: {entry['error']}")
        continue
    for task, value in entry["predictions"].items():
        print(f"{entry['input']}: predicted {task} {value['mean']:.2f} ± {value['spread']:.2f}")

# %% [markdown]
# ## Where to go next
#
# - `keras-applied run drug_discovery --preset quick --dataset bbbp`
#   trains the blood-brain-barrier classifier; `--split random` gives the (optimistic) random-split
#   figures.
# - `--dataset csv --csv-path my.csv --target-columns assay1 assay2` trains on your own data;
#   missing labels in multitask data are masked out of the loss.
# - `keras-applied benchmark drug_discovery` times featurisation of 10,000 molecules, training and
#   inference into `results/benchmarks/`.
