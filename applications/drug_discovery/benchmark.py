"""``keras-applied benchmark drug_discovery``: featurisation, training and inference speed.

Measures, on the molecules of ESOL + BBBP (or the bundled FreeWilson set) cycled up to
``--molecules`` (10,000 by default):

- featurisation: SMILES parsing + largest-fragment standardisation, molecular graphs, Morgan
  fingerprints and RDKit descriptors, each in molecules/s, and the total for all molecules;
- training: examples/s of ``fit()`` for the MPNN and the fingerprint MLP (quick-preset sizes);
- inference: molecules/s of the saved-model path (padding + ``predict_on_batch``).

Writes results/benchmarks/drug_discovery.json.
"""

from __future__ import annotations

import itertools
import logging
import sys
import time
from collections.abc import Sequence

import numpy as np

from common import cli
from common.config import PRECISIONS

log = logging.getLogger("keras_applied.drug_discovery")


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def source_smiles(data_dir: str | None) -> tuple[list[str], str]:
    """Raw SMILES of ESOL + BBBP where found, else of the bundled FreeWilson set."""
    from applications.drug_discovery import data
    from common import data as data_lib

    smiles, names = [], []
    for name in ("esol", "bbbp"):
        spec = data.SPECS[name]
        try:
            path = data._local_file(spec, data_dir)
        except data_lib.SourceUnavailable:
            continue
        smiles += data_lib.read_table(path)[spec.smiles_column].astype(str).tolist()
        names.append(name)
    if not smiles:
        smiles = data.freewilson_frame()["smiles"].tolist()
        names = ["freewilson"]
    return smiles, "+".join(names)


def featurisation(smiles: Sequence[str]) -> tuple[dict, list]:
    from applications.drug_discovery import featurize

    count = len(smiles)
    parsed, parse_seconds = _timed(lambda: [featurize.standardize(s) for s in smiles])
    mols = [p.mol for p in parsed if p.mol is not None]
    graphs, graph_seconds = _timed(lambda: [featurize.graph(m) for m in mols])
    _, fingerprint_seconds = _timed(featurize.morgan_fingerprints, mols)
    _, descriptor_seconds = _timed(featurize.descriptors, mols)
    total = parse_seconds + graph_seconds + fingerprint_seconds + descriptor_seconds
    figures = {
        "molecules": count,
        "parsed": len(mols),
        "parse_and_standardize_per_second": count / parse_seconds,
        "graphs_per_second": len(mols) / graph_seconds,
        "fingerprints_per_second": len(mols) / fingerprint_seconds,
        "descriptors_per_second": len(mols) / descriptor_seconds,
        "total_seconds": total,
        "total_molecules_per_second": count / total,
    }
    return figures, graphs


def training_speed(features, targets, *, kind: str, batch_size: int, steps: int, config) -> dict:
    from applications.drug_discovery import data, train

    indices = np.arange(len(targets))
    dataset = data.pipeline(features, targets, indices, kind=kind, batch_size=batch_size).repeat()
    model = train.build_member(config, kind, num_tasks=1, global_mean=None, global_variance=None, name=kind)
    train.compile_member(model, config, "regression", steps)
    figures = time_training(model, dataset, steps=steps)
    _, seconds = _timed(train.predict_members, _as_ensemble(model), features, indices[:2048], kind)
    figures["inference_molecules_per_second"] = min(2048, len(indices)) / seconds
    figures["parameters"] = model.count_params()
    return figures


def time_training(model, dataset, *, steps: int, warmup: int = 3) -> dict:
    """Examples/s of ``fit()`` over ``steps`` steps after ``warmup``, counting the examples of
    each batch (size-bucketed graph batches are not all full, so common.benchmark.time_training,
    which reads the size of the first batch, would miscount). ``dataset`` must repeat in a fixed
    order (no shuffling) so the batches fit() sees are the ones counted here."""
    import keras

    sizes = [int(y.shape[0]) for _, y in dataset.take(steps + warmup)]
    times: list[float] = []
    timer = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: times.append(time.perf_counter()))
    model.fit(dataset, epochs=1, steps_per_epoch=steps + warmup, callbacks=[timer], verbose=0, shuffle=False)
    elapsed = times[-1] - times[warmup - 1]
    return {"examples_per_second": sum(sizes[warmup:]) / elapsed, "seconds_per_step": elapsed / steps,
            "mean_batch_size": sum(sizes[warmup:]) / steps}


def _as_ensemble(model):
    from applications.drug_discovery import models

    return models.build_ensemble([model], task_type="regression", target_offset=[0.0], target_scale=[1.0])


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="keras-applied benchmark drug_discovery", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="Folder with the MoleculeNet CSVs (default $KERAS_APPLIED_DATA_DIR); else the bundled set.")
    parser.add_argument("--molecules", type=int, default=10_000, help="Molecules to featurise (the source SMILES cycled).")
    parser.add_argument("--steps", type=int, default=30, help="Timed training steps per model.")
    parser.add_argument("--precision", default=None, choices=list(PRECISIONS), help="Dtype policy for the training figures (default: the quick preset's, float32).")
    parser.add_argument("--results-dir", default=None, help="Results root (default ./results).")
    args = parser.parse_args(argv)
    cli.check_at_least(parser, args, molecules=1, steps=1)
    cli.check_data_dir_flag(parser, args.data_dir)
    cli.configure_process()
    from applications.drug_discovery import data
    from applications.drug_discovery.config import DrugDiscoveryConfig
    from common import results, training

    smiles, source = source_smiles(args.data_dir)
    cycled = list(itertools.islice(itertools.cycle(smiles), args.molecules))
    log.info("featurising %d molecules (%s, cycled)", len(cycled), source)
    figures = {"source": source}
    figures["featurisation"], _ = featurisation(cycled)
    config = DrugDiscoveryConfig.quick()
    with training.run_session(seed=0, precision_name=args.precision or config.precision) as session:
        parsed = [p for p in (data.featurize.standardize(s) for s in smiles) if p.mol is not None]
        mols = [p.mol for p in parsed]
        features = data.featurize_molecules(mols, descriptor_names=config.descriptor_names,
                                            fingerprint_radius=config.fingerprint_radius, fingerprint_bits=config.fingerprint_bits)
        targets = np.random.default_rng(0).standard_normal((len(mols), 1)).astype(np.float32)
        for kind in ("mpnn", "fingerprint_mlp"):
            log.info("timing %s training and inference", kind)
            figures[kind] = training_speed(features, targets, kind=kind, batch_size=config.batch_size,
                                           steps=args.steps, config=config)
        figures["dtype_policy"] = session.policy
    results.write_benchmark("drug_discovery", figures, args.results_dir, policy=figures["dtype_policy"])
    for name, values in figures.items():
        print(f"{name}: {values}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
