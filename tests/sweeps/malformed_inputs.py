"""Malformed inputs through the real ``keras-applied`` command (issue 14): none may crash or pass silently.

    python -m tests.sweeps.malformed_inputs --out results/robustness/malformed_inputs.csv

First trains the smoke models the ``predict`` and ``play`` cases need (one ``keras-applied run
DOMAIN --preset smoke`` per domain, on small generated files where a domain has no embedded
dataset; kept between sweeps unless ``--retrain``), then runs every case below as a subprocess of
the CLI with a timeout and classifies its outcome:

- ``clear error``: non-zero exit, no traceback, and stderr names what the case expects it to name
  (the offending value, flag or path);
- ``warned``: a case that may be accepted with a warning, and was, with the expected words;
- ``ok``: a positive control (a valid command) that succeeded;
- ``traceback``: stderr holds a Python traceback;
- ``accepted``: exit 0 (or still running at the timeout) where a refusal was expected, or a
  warning-case accepted without its warning;
- ``misleading``: refused, but the message does not name what it should, or says what the case
  lists as misleading (a wrong "did you mean");
- ``wrongly refused``: a positive control that failed.

Writes one CSV row per case and a summary JSON beside the CSV, prints the summary, and exits 1
when any case is a traceback, accepted, misleading or wrongly refused. Everything a case writes
goes under ``--root`` (results, work files, caches; the commands run with it as their working
directory), never into the repository. It is a script, not a test: it takes about half an hour
on two busy cores. ``--only WORD`` reruns some cases; ``--cli 'python -m applications'`` with
PYTHONPATH at another checkout sweeps that one (a before/after).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import json
import math
import os
import random
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import time
import wave
import zlib
from collections import Counter
from pathlib import Path

DOMAINS = ("vision", "nlp", "speech", "recommendation", "forecasting", "drug_discovery", "games")
PROBLEMS = ("traceback", "accepted", "misleading", "wrongly refused")
DEFAULT_TIMEOUT = 120  # seconds a case may run; a refusal takes seconds, so longer means accepted


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    domain: str
    args: tuple[str, ...]
    expect: str  # "refuse", "warn" (exit 0 allowed, with these words) or "accept" (a positive control)
    names: tuple[str, ...] = ()  # words the output must hold (case-insensitive): what is wrong
    stdin: str | None = None
    avoid: tuple[str, ...] = ()  # words that would mislead (a wrong suggestion); present: misleading


def refuse(id, domain, args, *names, stdin=None, avoid=()) -> Case:
    return Case(id, domain, tuple(map(str, args)), "refuse", tuple(map(str, names)), stdin, tuple(avoid))


def warn(id, domain, args, *names, stdin=None) -> Case:
    return Case(id, domain, tuple(map(str, args)), "warn", tuple(map(str, names)), stdin)


def accept(id, domain, args, stdin=None) -> Case:
    return Case(id, domain, tuple(map(str, args)), "accept", (), stdin)


def training_data(i: Path) -> dict[str, tuple]:
    """The flags of the domains whose smoke preset needs a file (the others have embedded data)."""
    return {
        "nlp": ("--dataset", "csv", "--data-file", i / "reviews.csv"),
        "recommendation": ("--dataset", "csv", "--ratings-file", i / "ratings.csv"),
    }


def run_cases(i: Path, m: Path) -> list[Case]:
    """``keras-applied run DOMAIN``: flags every domain shares, then each domain's own inputs."""
    cases = []
    for d in DOMAINS:
        run = ("run", d, "--preset", "smoke", *training_data(i).get(d, ()))
        cases += [
            refuse(f"run-{d}-epochs-text", d, [*run, "--epochs", "x"], "--epochs", "'x'"),
            refuse(f"run-{d}-epochs-zero", d, [*run, "--epochs", "0"], "epochs", "0"),
            refuse(f"run-{d}-batch-negative", d, [*run, "--batch-size", "-4"], "batch_size", "-4"),
            refuse(f"run-{d}-lr-nan", d, [*run, "--learning-rate", "nan"], "learning_rate", "nan"),
            refuse(f"run-{d}-seed-too-large", d, [*run, "--seed", "99999999999"], "seed", "99999999999"),
            refuse(f"run-{d}-abbreviated-flag", d, [*run, "--epoch", "1"], "--epoch"),
            refuse(f"run-{d}-unknown-flag", d, [*run, "--colour", "blue"], "--colour"),
            refuse(f"run-{d}-precision-choice", d, [*run, "--precision", "fp8"], "fp8"),
            refuse(f"run-{d}-dataset-choice", d, [*run, "--dataset", "nosuchset"], "nosuchset"),
            refuse(f"run-{d}-data-dir-missing", d, [*run, "--data-dir", i / "no_such_folder"], i / "no_such_folder"),
            refuse(f"run-{d}-workdir-is-file", d, [*run, "--workdir", i / "notes.txt"], i / "notes.txt"),
            refuse(f"run-{d}-results-dir-unwritable", d, [*run, "--results-dir", "/proc/keras-applied"],
                   "/proc/keras-applied"),
        ]
    vision = ("run", "vision", "--preset", "smoke")
    folder = (*vision, "--dataset", "folder", "--data-dir")
    cases += [
        refuse("run-vision-folder-missing", "vision", [*folder, i / "no_such_folder"], i / "no_such_folder"),
        refuse("run-vision-folder-empty", "vision", [*folder, i / "empty_folder"], i / "empty_folder"),
        refuse("run-vision-folder-is-file", "vision", [*folder, i / "reviews.csv"], i / "reviews.csv"),
        refuse("run-vision-folder-one-class", "vision", [*folder, i / "one_class"], "class"),
        refuse("run-vision-folder-no-images", "vision", [*folder, i / "text_folder"], i / "text_folder"),
        refuse("run-vision-image-size-negative", "vision", [*vision, "--image-size", "-8"], "image_size", "-8"),
        refuse("run-vision-widths-text", "vision", [*vision, "--widths", "8", "x"], "'x'"),
        refuse("run-vision-backbone-choice", "vision", [*vision, "--backbone", "resnet9000"], "resnet9000"),
        refuse("run-vision-weights-without-backbone", "vision", [*vision, "--weights", "imagenet"], "--weights"),
        refuse("run-vision-validation-fraction", "vision", [*vision, "--validation-fraction", "0.9"], "validation_fraction"),
        refuse("run-vision-gan-epochs-zero", "vision", ["run", "vision", "gan", "--preset", "smoke", "--epochs", "0"], "epochs"),
        refuse("run-vision-gan-unknown-flag", "vision", ["run", "vision", "gan", "--backbone", "resnet"], "--backbone",
               avoid=["Did you mean '--preset'"]),  # 'resnet' is the value, not a misspelt flag
        refuse("run-vision-run-tag-spaces", "vision", [*vision, "--run-tag", "my run"], "--run-tag", "'my run'"),
    ]
    nlp = ("run", "nlp", "--preset", "smoke")
    csv_file = (*nlp, "--dataset", "csv", "--data-file")
    cases += [
        refuse("run-nlp-csv-without-file", "nlp", [*nlp, "--dataset", "csv"], "--data-file"),
        refuse("run-nlp-file-missing", "nlp", [*csv_file, i / "missing.csv"], i / "missing.csv"),
        refuse("run-nlp-file-empty", "nlp", [*csv_file, i / "empty.csv"], i / "empty.csv"),
        refuse("run-nlp-file-binary", "nlp", [*csv_file, i / "binary.csv"], i / "binary.csv"),
        refuse("run-nlp-file-headerless", "nlp", [*csv_file, i / "headerless_reviews.csv"], "text", "label"),
        refuse("run-nlp-file-wrong-columns", "nlp", [*csv_file, i / "wrong_columns.csv"], "text", "['name', 'y']"),
        refuse("run-nlp-file-is-folder", "nlp", [*csv_file, i / "a_folder"], i / "a_folder"),
        refuse("run-nlp-file-under-file", "nlp", [*csv_file, i / "reviews.csv" / "x"], i / "reviews.csv" / "x"),
        refuse("run-nlp-file-dangling-link", "nlp", [*csv_file, i / "dangling.csv"], i / "dangling.csv"),
        refuse("run-nlp-text-column-missing", "nlp", [*csv_file, i / "reviews.csv", "--text-column", "review"], "review"),
        refuse("run-nlp-one-class", "nlp", [*csv_file, i / "one_class.csv"], "class"),
        refuse("run-nlp-test-file-missing", "nlp", [*csv_file, i / "reviews.csv", "--test-file", i / "missing_test.csv"],
               i / "missing_test.csv"),
        refuse("run-nlp-data-file-with-sst2", "nlp", [*nlp, "--dataset", "sst2", "--data-file", i / "reviews.csv"], "--data-file"),
        refuse("run-nlp-heads-indivisible", "nlp", [*nlp, "--num-heads", "5"], "num_heads"),
        refuse("run-nlp-sequence-length-negative", "nlp", [*nlp, "--sequence-length", "-1"], "sequence_length", "-1"),
        refuse("run-nlp-teacher-missing", "nlp", [*csv_file, i / "reviews.csv", "--teacher", i / "missing.keras"], i / "missing.keras"),
        refuse("run-nlp-teacher-other-domain", "nlp", [*csv_file, i / "reviews.csv", "--teacher", m / "vision" / "model.keras"], "vision"),
        refuse("run-nlp-teacher-weight", "nlp", [*nlp, "--teacher-weight", "2"], "teacher_weight", "2"),
        refuse("run-nlp-folder-missing", "nlp", [*nlp, "--dataset", "folder", "--data-dir", i / "no_such_folder"], i / "no_such_folder"),
        refuse("run-nlp-lr-schedule-choice", "nlp", [*nlp, "--lr-schedule", "sawtooth"], "sawtooth"),
    ]
    speech = ("run", "speech", "--preset", "smoke")
    cases += [
        refuse("run-speech-folder-missing", "speech", [*speech, "--dataset", "folder", "--data-dir", i / "no_such_folder"],
               i / "no_such_folder"),
        refuse("run-speech-folder-empty", "speech", [*speech, "--dataset", "folder", "--data-dir", i / "empty_folder"], i / "empty_folder"),
        refuse("run-speech-folder-no-wavs", "speech", [*speech, "--dataset", "folder", "--data-dir", i / "text_folder"], i / "text_folder"),
        refuse("run-speech-sample-rate-zero", "speech", [*speech, "--sample-rate", "0"], "sample_rate", "0"),
        refuse("run-speech-clip-seconds-zero", "speech", [*speech, "--clip-seconds", "0"], "clip_seconds", "0"),
        refuse("run-speech-mel-bins-zero", "speech", [*speech, "--num-mel-bins", "0"], "num_mel_bins", "0"),
        refuse("run-speech-snr-reversed", "speech", [*speech, "--noise-snr-db", "20", "5"], "noise_snr_db"),
        refuse("run-speech-snr-one-value", "speech", [*speech, "--noise-snr-db", "5"], "noise_snr_db"),
        refuse("run-speech-loso-synthetic", "speech", [*speech, "--protocol", "loso", "--dataset", "synthetic"], "synthetic"),
        refuse("run-speech-speed-perturbation", "speech", [*speech, "--speed-perturbation", "0.7"], "speed_perturbation", "0.7"),
    ]
    rec = ("run", "recommendation", "--preset", "smoke")
    ratings = (*rec, "--dataset", "csv", "--ratings-file")
    cases += [
        refuse("run-recommendation-csv-without-file", "recommendation", [*rec, "--dataset", "csv"], "--ratings-file"),
        refuse("run-recommendation-file-missing", "recommendation", [*ratings, i / "missing.csv"], i / "missing.csv"),
        refuse("run-recommendation-file-empty", "recommendation", [*ratings, i / "empty.csv"], i / "empty.csv"),
        refuse("run-recommendation-file-binary", "recommendation", [*ratings, i / "binary.csv"], i / "binary.csv"),
        warn("run-recommendation-file-headerless", "recommendation", [*ratings, i / "headerless_ratings.csv"], "no header"),
        refuse("run-recommendation-file-wrong-columns", "recommendation", [*ratings, i / "wrong_columns.csv"], "user", "['name', 'y']"),
        refuse("run-recommendation-file-is-folder", "recommendation", [*ratings, i / "a_folder"], i / "a_folder"),
        refuse("run-recommendation-file-under-file", "recommendation", [*ratings, i / "reviews.csv" / "x"], i / "reviews.csv" / "x"),
        refuse("run-recommendation-file-dangling-link", "recommendation", [*ratings, i / "dangling.csv"], i / "dangling.csv"),
        refuse("run-recommendation-ratings-not-numbers", "recommendation", [*ratings, i / "text_ratings.csv"], "rating"),
        refuse("run-recommendation-user-column-missing", "recommendation", [*ratings, i / "ratings.csv", "--user-column", "uid"], "uid"),
        refuse("run-recommendation-items-file-missing", "recommendation",
               [*ratings, i / "ratings.csv", "--items-file", i / "missing_items.csv"], i / "missing_items.csv"),
        refuse("run-recommendation-rating-scale-reversed", "recommendation", [*rec, "--rating-scale", "5", "1"], "rating_scale"),
        refuse("run-recommendation-rating-scale-one-value", "recommendation", [*rec, "--rating-scale", "5"], "rating_scale",
               "2 values"),
        refuse("run-recommendation-ratings-off-scale", "recommendation", [*ratings, i / "off_scale_ratings.csv"], "--rating-scale"),
        refuse("run-recommendation-model-task-mismatch", "recommendation", [*rec, "--task", "rating", "--model", "two_tower"],
               "two_tower"),
        refuse("run-recommendation-ratings-file-with-auto", "recommendation", [*rec, "--ratings-file", i / "ratings.csv"],
               "--ratings-file"),
        refuse("run-recommendation-wrong-delimiter", "recommendation", [*ratings, i / "ratings.csv", "--delimiter", ";"], "user"),
        refuse("run-recommendation-embedding-dim-zero", "recommendation", [*rec, "--embedding-dim", "0"], "embedding_dim", "0"),
    ]
    fc = ("run", "forecasting", "--preset", "smoke")
    series = (*fc, "--dataset", "csv", "--target-columns", "co2", "--csv-path")
    cases += [
        refuse("run-forecasting-csv-without-path", "forecasting", [*fc, "--dataset", "csv"], "--csv-path"),
        refuse("run-forecasting-csv-missing", "forecasting", [*series, i / "missing.csv"], i / "missing.csv"),
        refuse("run-forecasting-csv-empty", "forecasting", [*series, i / "empty.csv"], i / "empty.csv"),
        refuse("run-forecasting-csv-binary", "forecasting", [*series, i / "binary.csv"], i / "binary.csv"),
        refuse("run-forecasting-csv-is-folder", "forecasting", [*series, i / "a_folder"], i / "a_folder"),
        refuse("run-forecasting-csv-dangling-link", "forecasting", [*series, i / "dangling.csv"], i / "dangling.csv"),
        refuse("run-forecasting-target-column-missing", "forecasting", [*series, i / "series.csv", "--target-columns", "nope"], "nope"),
        refuse("run-forecasting-time-column-missing", "forecasting", [*series, i / "series.csv", "--time-column", "when"], "when"),
        refuse("run-forecasting-csv-too-short", "forecasting", [*series, i / "short_series.csv"], "short_series", "shorter than"),
        refuse("run-forecasting-csv-no-numbers", "forecasting", [*series, i / "text_series.csv"], "co2"),
        warn("run-forecasting-csv-unsorted-duplicates", "forecasting", [*series, i / "unsorted_series.csv"], "duplicate",
             "out of order"),
        refuse("run-forecasting-horizon-negative", "forecasting", [*fc, "--horizon", "-1"], "horizon", "-1"),
        refuse("run-forecasting-arima-order-two", "forecasting", [*fc, "--arima-order", "1", "2"], "--arima-order"),
        refuse("run-forecasting-model-choice", "forecasting", [*fc, "--model", "gru"], "gru"),
        refuse("run-forecasting-financial-on-co2", "forecasting", [*fc, "--task", "financial", "--dataset", "co2"], "co2"),
        refuse("run-forecasting-interval-coverage", "forecasting", [*fc, "--interval-coverage", "1.5"], "interval_coverage"),
        refuse("run-forecasting-heads-indivisible", "forecasting", [*fc, "--model", "transformer", "--units", "10", "--heads", "3"],
               "--units"),
    ]
    drug = ("run", "drug_discovery", "--preset", "smoke")
    molecules = (*drug, "--dataset", "csv", "--target-columns", "y", "--csv-path")
    cases += [
        refuse("run-drug_discovery-csv-without-path", "drug_discovery", [*drug, "--dataset", "csv"], "--csv-path"),
        refuse("run-drug_discovery-csv-missing", "drug_discovery", [*molecules, i / "missing.csv"], i / "missing.csv"),
        refuse("run-drug_discovery-csv-empty", "drug_discovery", [*molecules, i / "empty.csv"], i / "empty.csv"),
        refuse("run-drug_discovery-csv-binary", "drug_discovery", [*molecules, i / "binary.csv"], i / "binary.csv"),
        refuse("run-drug_discovery-csv-is-folder", "drug_discovery", [*molecules, i / "a_folder"], i / "a_folder"),
        refuse("run-drug_discovery-csv-no-smiles", "drug_discovery", [*molecules, i / "wrong_columns.csv"], "smiles"),
        refuse("run-drug_discovery-smiles-column-missing", "drug_discovery",
               [*molecules, i / "molecules.csv", "--smiles-column", "mol"], "mol"),
        refuse("run-drug_discovery-target-missing", "drug_discovery", [*molecules, i / "molecules.csv", "--target-columns", "nope"],
               "nope"),
        refuse("run-drug_discovery-no-valid-smiles", "drug_discovery", [*molecules, i / "bad_smiles.csv"], "smiles"),
        refuse("run-drug_discovery-global-feature-unknown", "drug_discovery", [*drug, "--global-features", "MolFoo"], "MolFoo"),
        refuse("run-drug_discovery-fingerprint-bits-zero", "drug_discovery", [*drug, "--fingerprint-bits", "0"], "fingerprint_bits"),
        refuse("run-drug_discovery-ensemble-size-zero", "drug_discovery", [*drug, "--ensemble-size", "0"], "ensemble_size"),
        refuse("run-drug_discovery-task-type-choice", "drug_discovery", [*drug, "--task-type", "ranking"], "ranking"),
        refuse("run-drug_discovery-max-molecules-negative", "drug_discovery", [*drug, "--max-molecules", "-5"], "max_molecules"),
    ]
    games = ("run", "games", "--preset", "smoke")
    cases += [
        refuse("run-games-backup-steps", "games", [*games, "--backup-steps", "5"], "--backup-steps"),
        refuse("run-games-iterations-zero", "games", [*games, "--iterations", "0"], "iterations", "0"),
        refuse("run-games-c-puct-negative", "games", [*games, "--c-puct", "-1"], "c_puct", "-1"),
        refuse("run-games-dirichlet-fraction", "games", [*games, "--dirichlet-fraction", "2"], "dirichlet_fraction"),
        refuse("run-games-target-opponent", "games", [*games, "--target-opponent", "7"], "--target-opponent", "7"),
        refuse("run-games-parallel-games-zero", "games", [*games, "--parallel-games", "0"], "parallel_games", "0"),
        refuse("run-games-games-per-iteration-zero", "games", [*games, "--games-per-iteration", "0"], "games_per_iteration"),
    ]
    return cases


# What a valid `predict DOMAIN` needs besides --model (the positive controls use exactly this).
def predict_inputs(i: Path, out: Path) -> dict[str, tuple]:
    return {
        "vision": (i / "image.png",),
        "nlp": ("a gorgeous film",),
        "speech": (i / "tone.wav",),
        "recommendation": ("--user", "1"),
        "forecasting": ("--csv", i / "series.csv", "--output-dir", out),
        "drug_discovery": ("CCO",),
        "games": ("--moves", "5", "--simulations", "4"),
    }


def predict_cases(i: Path, m: Path, b: Path, out: Path) -> list[Case]:
    """``keras-applied predict DOMAIN``: broken model files in every domain, then each one's inputs."""
    inputs = predict_inputs(i, out)
    cases = []
    for d in DOMAINS:
        other = "nlp" if d == "vision" else "vision"
        good = ("predict", d, "--model", m / d / "model.keras")

        def bad(model, d=d):
            return ("predict", d, "--model", model, *inputs[d])

        cases += [
            accept(f"predict-{d}-valid", d, [*good, *inputs[d]]),
            refuse(f"predict-{d}-model-missing", d, bad(i / "missing" / "model.keras"), i / "missing" / "model.keras"),
            refuse(f"predict-{d}-model-is-folder", d, bad(m / d), m / d, "folder"),
            refuse(f"predict-{d}-model-is-text", d, bad(i / "notes.txt"), i / "notes.txt"),
            refuse(f"predict-{d}-model-empty", d, bad(b / "empty.keras"), b / "empty.keras"),
            refuse(f"predict-{d}-model-truncated", d, bad(b / "truncated.keras"), b / "truncated.keras", "damaged"),
            refuse(f"predict-{d}-card-broken", d, bad(b / "broken_card" / "model.keras"), "model.json", "JSON"),
            refuse(f"predict-{d}-card-list", d, bad(b / "list_card" / "model.keras"), "model.json", "list"),
            refuse(f"predict-{d}-other-domain", d, bad(m / other / "model.keras"), other),
        ]
        if d == "games":  # documented: a checkpoint without its card is accepted, its game found from its shapes
            cases.append(accept("predict-games-no-card", d, bad(b / "no_card-games" / "model.keras")))
        else:
            cases.append(refuse(f"predict-{d}-no-card", d, bad(b / f"no_card-{d}" / "model.keras"), "model.json"))
    vision = ("predict", "vision", "--model", m / "vision" / "model.keras")
    nlp = ("predict", "nlp", "--model", m / "nlp" / "model.keras")
    speech = ("predict", "speech", "--model", m / "speech" / "model.keras")
    rec = ("predict", "recommendation", "--model", m / "recommendation" / "model.keras")
    fc = ("predict", "forecasting", "--model", m / "forecasting" / "model.keras")
    drug = ("predict", "drug_discovery", "--model", m / "drug_discovery" / "model.keras")
    games = ("predict", "games", "--model", m / "games" / "model.keras", "--simulations", "4")
    cases += [
        refuse("predict-vision-model-flag-missing", "vision", ["predict", "vision", i / "image.png"], "--model"),
        refuse("predict-nlp-card-of-another-model", "nlp", ["predict", "nlp", "--model", b / "swapped_card" / "model.keras", "good"],
               b / "swapped_card" / "model.keras"),
        refuse("predict-vision-image-missing", "vision", [*vision, i / "missing.png"], i / "missing.png"),
        refuse("predict-vision-image-empty", "vision", [*vision, i / "empty.png"], i / "empty.png"),
        refuse("predict-vision-image-is-text", "vision", [*vision, i / "text.png"], i / "text.png"),
        refuse("predict-vision-image-is-folder", "vision", [*vision, i / "a_folder"], i / "a_folder", "folder"),
        refuse("predict-vision-no-images", "vision", vision, "images"),
        refuse("predict-vision-top-k-zero", "vision", [*vision, "--top-k", "0", i / "image.png"], "--top-k", "0"),
        warn("predict-vision-top-k-too-many", "vision", [*vision, "--top-k", "50", i / "image.png"], "--top-k 50"),
        refuse("predict-vision-batch-size-zero", "vision", [*vision, "--batch-size", "0", i / "image.png"], "--batch-size", "0"),
        refuse("predict-nlp-no-texts", "nlp", nlp, "texts"),
        refuse("predict-nlp-file-missing", "nlp", [*nlp, "--file", i / "missing.txt"], i / "missing.txt"),
        refuse("predict-nlp-file-empty", "nlp", [*nlp, "--file", i / "empty.csv"], i / "empty.csv"),
        refuse("predict-nlp-file-blank-lines", "nlp", [*nlp, "--file", i / "blank.txt"], i / "blank.txt"),
        refuse("predict-nlp-file-binary", "nlp", [*nlp, "--file", i / "binary.csv"], i / "binary.csv"),
        refuse("predict-nlp-file-is-folder", "nlp", [*nlp, "--file", i / "a_folder"], i / "a_folder"),
        refuse("predict-nlp-empty-text", "nlp", [*nlp, ""], "empty"),
        warn("predict-nlp-file-latin1", "nlp", [*nlp, "--file", i / "latin1.txt"], "not UTF-8", i / "latin1.txt"),
        refuse("predict-speech-wav-missing", "speech", [*speech, i / "missing.wav"], i / "missing.wav"),
        refuse("predict-speech-wav-empty", "speech", [*speech, i / "empty.wav"], i / "empty.wav"),
        refuse("predict-speech-wav-is-text", "speech", [*speech, i / "text.wav"], i / "text.wav"),
        refuse("predict-speech-wav-is-folder", "speech", [*speech, i / "a_folder"], i / "a_folder"),
        refuse("predict-speech-wav-silent", "speech", [*speech, i / "silent.wav"], i / "silent.wav", "silent"),
        refuse("predict-speech-wav-no-samples", "speech", [*speech, i / "no_frames.wav"], i / "no_frames.wav"),
        refuse("predict-speech-top-k-zero", "speech", [*speech, "--top-k", "0", i / "tone.wav"], "--top-k", "0"),
        refuse("predict-speech-batch-size-zero", "speech", [*speech, "--batch-size", "0", i / "tone.wav"], "--batch-size", "0"),
        # documented cold start: an unknown user gets the most popular items, and is told so
        warn("predict-recommendation-user-unknown", "recommendation", [*rec, "--user", "999999"], "999999", "not in the training data"),
        refuse("predict-recommendation-item-unknown", "recommendation", [*rec, "--similar-to", "999999"], "999999"),
        refuse("predict-recommendation-user-and-item", "recommendation", [*rec, "--user", "1", "--similar-to", "1"], "--similar-to"),
        refuse("predict-recommendation-no-query", "recommendation", rec, "--user"),
        refuse("predict-recommendation-top-n-zero", "recommendation", [*rec, "--user", "1", "--top-n", "0"], "--top-n", "0"),
        refuse("predict-recommendation-min-ratings-negative", "recommendation", [*rec, "--similar-to", "1", "--min-ratings", "-1"],
               "--min-ratings", "-1"),
        refuse("predict-recommendation-user-empty", "recommendation", [*rec, "--user", ""], "--user"),
        refuse("predict-recommendation-catalogue-missing", "recommendation",
               ["predict", "recommendation", "--model", b / "no_catalogue" / "model.keras", "--user", "1"], "catalogue"),
        refuse("predict-forecasting-csv-missing", "forecasting", [*fc, "--csv", i / "missing.csv", "--output-dir", out], i / "missing.csv"),
        refuse("predict-forecasting-csv-empty", "forecasting", [*fc, "--csv", i / "empty.csv", "--output-dir", out], i / "empty.csv"),
        refuse("predict-forecasting-csv-binary", "forecasting", [*fc, "--csv", i / "binary.csv", "--output-dir", out], i / "binary.csv"),
        refuse("predict-forecasting-csv-is-folder", "forecasting", [*fc, "--csv", i / "a_folder", "--output-dir", out], i / "a_folder"),
        refuse("predict-forecasting-csv-wrong-columns", "forecasting", [*fc, "--csv", i / "wrong_columns.csv", "--output-dir", out],
               "co2"),
        refuse("predict-forecasting-csv-too-short", "forecasting", [*fc, "--csv", i / "short_series.csv", "--output-dir", out],
               "short_series.csv"),
        refuse("predict-forecasting-time-column-missing", "forecasting",
               [*fc, "--csv", i / "series.csv", "--time-column", "when", "--output-dir", out], "when"),
        refuse("predict-forecasting-output-dir-unwritable", "forecasting",
               [*fc, "--csv", i / "series.csv", "--output-dir", "/proc/keras-applied"], "/proc/keras-applied"),
        refuse("predict-forecasting-output-dir-is-file", "forecasting", [*fc, "--csv", i / "series.csv", "--output-dir", i / "notes.txt"],
               i / "notes.txt"),
        refuse("predict-forecasting-name-with-folder", "forecasting",
               [*fc, "--csv", i / "series.csv", "--output-dir", out, "--name", "a/b"], "a/b"),
        refuse("predict-forecasting-csv-flag-missing", "forecasting", fc, "--csv"),
        refuse("predict-drug_discovery-invalid-smiles", "drug_discovery", [*drug, "not_a_molecule"], "not_a_molecule"),
        refuse("predict-drug_discovery-empty-smiles", "drug_discovery", [*drug, ""], "''"),
        refuse("predict-drug_discovery-no-inputs", "drug_discovery", drug, "SMILES"),
        refuse("predict-drug_discovery-csv-missing", "drug_discovery", [*drug, "--csv", i / "missing.csv"], i / "missing.csv"),
        refuse("predict-drug_discovery-csv-binary", "drug_discovery", [*drug, "--csv", i / "binary.csv"], i / "binary.csv"),
        refuse("predict-drug_discovery-csv-no-smiles", "drug_discovery", [*drug, "--csv", i / "wrong_columns.csv"], "smiles"),
        refuse("predict-drug_discovery-output-unwritable", "drug_discovery", [*drug, "CCO", "--output", "/proc/x.csv"], "/proc/x.csv"),
        refuse("predict-drug_discovery-output-is-folder", "drug_discovery", [*drug, "CCO", "--output", i / "a_folder"], i / "a_folder"),
        refuse("predict-drug_discovery-output-folder-missing", "drug_discovery",
               [*drug, "CCO", "--output", i / "no_such_folder" / "p.csv"], i / "no_such_folder"),
        refuse("predict-drug_discovery-batch-size-zero", "drug_discovery", [*drug, "CCO", "--batch-size", "0"], "--batch-size", "0"),
        refuse("predict-games-move-out-of-range", "games", [*games, "--moves", "0"], "0"),
        refuse("predict-games-cell-taken", "games", [*games, "--moves", "55"], "taken"),
        refuse("predict-games-move-letters", "games", [*games, "--moves", "ab"], "'a'"),
        refuse("predict-games-move-superscript", "games", [*games, "--moves", "\u00b2"], "\u00b2"),
        refuse("predict-games-move-after-the-end", "games", [*games, "--moves", "12345678"], "game is over", "'8'"),
        refuse("predict-games-game-mismatch", "games", [*games, "--game", "connect_four"], "connect_four"),
        refuse("predict-games-game-choice", "games", [*games, "--game", "chess"], "chess"),
        refuse("predict-games-simulations-negative", "games", [*games, "--simulations", "-1"], "--simulations", "-1"),
        refuse("predict-games-c-puct-nan", "games", [*games, "--c-puct", "nan"], "--c-puct", "nan"),
    ]
    return cases


def play_cases(i: Path, m: Path) -> list[Case]:
    play = ("play", "games", "--model", m / "games" / "model.keras", "--simulations", "2")
    return [
        accept("play-games-valid-then-quit", "games", play, stdin="5\nq\n"),
        warn("play-games-bad-moves", "games", play, "Try again", "input ended", stdin="x\n0\n99\n"),
        warn("play-games-superscript-move", "games", play, "Try again", stdin="\u00b2\n"),
        warn("play-games-cell-taken", "games", [*play, "--moves", "5"], "taken", stdin="5\n"),
        warn("play-games-eof-at-once", "games", play, "input ended", stdin=""),
        refuse("play-games-first-choice", "games", [*play, "--first", "nobody"], "nobody"),
        refuse("play-games-illegal-start", "games", [*play, "--moves", "55"], "55"),
        refuse("play-games-simulations-negative", "games", [*play, "--simulations", "-3"], "--simulations", "-3"),
        refuse("play-games-seed-negative", "games", [*play, "--seed", "-1"], "--seed", "-1", stdin="5\n"),
        refuse("play-games-model-missing", "games", ["play", "games", "--model", i / "missing.keras"], i / "missing.keras"),
        refuse("play-games-model-other-domain", "games", ["play", "games", "--model", m / "vision" / "model.keras"], "vision"),
        refuse("play-vision-no-play-command", "vision", ["play", "vision", "--model", m / "vision" / "model.keras"], "play"),
    ]


def benchmark_cases(i: Path, m: Path) -> list[Case]:
    b = "benchmark"
    return [
        refuse("benchmark-vision-steps-zero", "vision", [b, "vision", "--preset", "smoke", "--steps", "0"], "--steps", "0"),
        refuse("benchmark-vision-batch-size-zero", "vision", [b, "vision", "--preset", "smoke", "--batch-size", "0"], "--batch-size"),
        refuse("benchmark-vision-preset-choice", "vision", [b, "vision", "--preset", "huge"], "huge"),
        refuse("benchmark-vision-precision-choice", "vision", [b, "vision", "--precision", "fp8"], "fp8"),
        refuse("benchmark-vision-data-dir-missing", "vision", [b, "vision", "--preset", "smoke", "--data-dir", i / "no_such_folder"],
               i / "no_such_folder"),
        refuse("benchmark-nlp-steps-zero", "nlp", [b, "nlp", "--steps", "0"], "--steps", "0"),
        refuse("benchmark-nlp-warmup-negative", "nlp", [b, "nlp", "--warmup", "-1"], "--warmup", "-1"),
        refuse("benchmark-nlp-inference-batch-zero", "nlp", [b, "nlp", "--inference-batch-size", "0"], "--inference-batch-size"),
        refuse("benchmark-nlp-models-choice", "nlp", [b, "nlp", "--models", "gpt"], "gpt"),
        refuse("benchmark-nlp-precision-unknown", "nlp", [b, "nlp", "--precision", "fp8"], "fp8"),
        refuse("benchmark-speech-sample-rate-zero", "speech", [b, "speech", "--sample-rate", "0"], "--sample-rate", "0"),
        refuse("benchmark-speech-batch-size-zero", "speech", [b, "speech", "--batch-size", "0"], "--batch-size", "0"),
        refuse("benchmark-speech-steps-zero", "speech", [b, "speech", "--steps", "0"], "--steps", "0"),
        refuse("benchmark-recommendation-steps-zero", "recommendation", [b, "recommendation", "--steps", "0"], "--steps", "0"),
        refuse("benchmark-recommendation-precision-choice", "recommendation", [b, "recommendation", "--precision", "fp8"], "fp8"),
        refuse("benchmark-forecasting-steps-zero", "forecasting", [b, "forecasting", "--steps", "0"], "--steps", "0"),
        refuse("benchmark-forecasting-fit-rows-zero", "forecasting", [b, "forecasting", "--fit-rows", "0"], "--fit-rows", "0"),
        refuse("benchmark-forecasting-refits-negative", "forecasting", [b, "forecasting", "--refits", "-1"], "--refits", "-1"),
        refuse("benchmark-forecasting-units-zero", "forecasting", [b, "forecasting", "--units", "0"], "--units", "0"),
        refuse("benchmark-forecasting-data-dir-missing", "forecasting", [b, "forecasting", "--data-dir", i / "no_such_folder"],
               i / "no_such_folder"),
        refuse("benchmark-drug_discovery-molecules-zero", "drug_discovery", [b, "drug_discovery", "--molecules", "0"], "--molecules"),
        refuse("benchmark-drug_discovery-steps-zero", "drug_discovery", [b, "drug_discovery", "--steps", "0"], "--steps", "0"),
        refuse("benchmark-drug_discovery-precision-unknown", "drug_discovery", [b, "drug_discovery", "--precision", "fp8"], "fp8"),
        refuse("benchmark-drug_discovery-data-dir-missing", "drug_discovery",
               [b, "drug_discovery", "--data-dir", i / "no_such_folder"], i / "no_such_folder"),
        refuse("benchmark-games-filters-zero", "games", [b, "games", "--quick", "--filters", "0"], "--filters", "0"),
        refuse("benchmark-games-blocks-negative", "games", [b, "games", "--quick", "--blocks", "-1"], "--blocks", "-1"),
        refuse("benchmark-games-simulations-zero", "games", [b, "games", "--simulations", "0"], "--simulations", "0"),
        refuse("benchmark-games-selfplay-parallel-zero", "games", [b, "games", "--selfplay-parallel", "0"], "--selfplay-parallel"),
        refuse("benchmark-games-model-missing", "games", [b, "games", "--quick", "--model", i / "missing.keras"], i / "missing.keras"),
        refuse("benchmark-games-model-other-domain", "games", [b, "games", "--quick", "--model", m / "vision" / "model.keras"],
               "vision"),
        refuse("benchmark-games-game-choice", "games", [b, "games", "--game", "chess"], "chess"),
        refuse("benchmark-unknown-domain", "-", [b, "visoin"], "visoin", "vision"),
    ]


def command_cases(i: Path) -> list[Case]:
    """``run all``, ``report`` and the top-level command."""
    return [
        refuse("run-all-preset-choice", "all", ["run", "all", "--preset", "smoke"], "smoke"),
        refuse("run-all-domains-choice", "all", ["run", "all", "--domains", "visoin"], "visoin"),
        refuse("run-all-domains-empty", "all", ["run", "all", "--domains"], "--domains"),
        refuse("run-all-abbreviated-flag", "all", ["run", "all", "--domain", "vision"], "--domain"),
        refuse("run-all-unknown-flag", "all", ["run", "all", "--epochs", "3"], "--epochs"),
        refuse("run-all-data-dir-missing", "all", ["run", "all", "--data-dir", i / "no_such_folder"], i / "no_such_folder"),
        refuse("run-all-results-dir-unwritable", "all", ["run", "all", "--results-dir", "/proc/keras-applied"], "/proc/keras-applied"),
        refuse("report-unknown-flag", "report", ["report", "--colour"], "--colour"),
        refuse("report-results-dir-missing", "report", ["report", "--results-dir", i / "no_such_folder", "--root", i / "project"],
               i / "no_such_folder"),
        refuse("report-results-dir-is-file", "report", ["report", "--results-dir", i / "notes.txt", "--root", i / "project"],
               i / "notes.txt"),
        refuse("report-root-missing", "report", ["report", "--root", i / "no_such_folder"], i / "no_such_folder"),
        refuse("report-root-not-a-project", "report", ["report", "--root", i / "empty_folder"], i / "empty_folder"),
        refuse("top-unknown-command", "-", ["trian", "vision"], "trian"),
        refuse("top-unknown-domain", "-", ["run", "visoin"], "visoin", "vision"),
        refuse("top-run-without-domain", "-", ["run"], "domain"),
        refuse("top-predict-flag-first", "-", ["predict", "--model", "x"], "domain"),
    ]


# ---------------------------------------------------------------------------------------------
# Inputs: small generated files, good and broken
# ---------------------------------------------------------------------------------------------
def _png(path: Path, size: int = 8, color: int = 128) -> None:
    """A grayscale PNG written with the standard library only."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + bytes([color] * size) for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _wav(path: Path, samples: list[float], rate: int = 8000) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(b"".join(struct.pack("<h", int(32767 * s)) for s in samples))


def _csv(path: Path, header: list[str] | None, rows: list) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if header:
            writer.writerow(header)
        writer.writerows(rows)


def make_inputs(i: Path) -> None:
    """Every file the cases read (and the training files for nlp and recommendation)."""
    if i.exists():
        shutil.rmtree(i)
    i.mkdir(parents=True)
    rng = random.Random(0)
    good = ["a gorgeous film", "wonderful acting", "great fun", "loved every minute", "brilliant and moving"]
    bad = ["dull and slow", "terrible plot", "a boring mess", "i hated it", "awful acting"]
    reviews = [[f"{rng.choice(good)}, {rng.choice(good)}", "pos"] if n % 2 else [f"{rng.choice(bad)}, {rng.choice(bad)}", "neg"]
               for n in range(300)]
    _csv(i / "reviews.csv", ["text", "label"], reviews)
    _csv(i / "headerless_reviews.csv", None, reviews)
    _csv(i / "one_class.csv", ["text", "label"], [[text, "pos"] for text, _ in reviews])
    ratings, clock = [], 1_000_000
    for user in range(1, 61):
        for item in rng.sample(range(1, 81), 20):
            clock += 60
            ratings.append([user, item, rng.choice([1, 2, 3, 3.5, 4, 4.5, 5]), clock])
    _csv(i / "ratings.csv", ["userId", "movieId", "rating", "timestamp"], ratings)
    _csv(i / "headerless_ratings.csv", None, ratings)
    _csv(i / "text_ratings.csv", ["userId", "movieId", "rating"], [[u, m, "good"] for u, m, _, _ in ratings])
    _csv(i / "off_scale_ratings.csv", ["userId", "movieId", "rating"], [[u, m, 10] for u, m, _, _ in ratings])
    weeks = [(datetime.date(2000, 1, 1) + datetime.timedelta(weeks=n)).isoformat() for n in range(260)]  # Saturdays
    level = [round(330 + 0.05 * n + 3 * math.sin(2 * math.pi * n / 52), 3) for n in range(260)]
    _csv(i / "series.csv", ["date", "co2"], list(zip(weeks, level)))
    _csv(i / "short_series.csv", ["date", "co2"], list(zip(weeks[:20], level[:20])))
    _csv(i / "unsorted_series.csv", ["date", "co2"], list(zip(weeks, level))[::-1] + list(zip(weeks[:5], level[:5])))
    _csv(i / "text_series.csv", ["date", "co2"], [[w, "n/a"] for w in weeks])
    smiles = ["CCO", "CCCO", "CCCCO", "CC(C)O", "c1ccccc1", "c1ccccc1O", "CC(=O)O", "CCN", "CCCN", "c1ccncc1"] * 3
    _csv(i / "molecules.csv", ["smiles", "y"], [[s, round(rng.uniform(-3, 3), 2)] for s in smiles])
    _csv(i / "bad_smiles.csv", ["smiles", "y"], [[f"xyz{n}", 1.0] for n in range(30)])
    _csv(i / "wrong_columns.csv", ["name", "y"], [["a", 1], ["b", 2]])
    (i / "empty.csv").write_bytes(b"")
    (i / "binary.csv").write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    (i / "notes.txt").write_text("not a model, not a folder\n")
    (i / "blank.txt").write_text("\n\n   \n")
    (i / "latin1.txt").write_bytes("caf\u00e9 au lait\nbon\n".encode("latin-1"))
    (i / "a_folder").mkdir()
    (i / "a_folder" / "inside.txt").write_text("x\n")
    (i / "empty_folder").mkdir()
    (i / "project").mkdir()  # a --root for report cases: nothing of the repository is ever rewritten
    (i / "dangling.csv").symlink_to(i / "gone.csv")
    _png(i / "image.png")
    (i / "empty.png").write_bytes(b"")
    (i / "text.png").write_text("this is not an image\n")
    for name in ("a", "b"):
        (i / "text_folder" / name).mkdir(parents=True)
        (i / "text_folder" / name / "note.txt").write_text("no image, no sound\n")
    (i / "one_class" / "cats").mkdir(parents=True)
    for n in range(4):
        _png(i / "one_class" / "cats" / f"{n}.png", color=40 + n)
    _wav(i / "tone.wav", [0.3 * math.sin(2 * math.pi * 440 * t / 8000) for t in range(8000)])
    _wav(i / "silent.wav", [0.0] * 8000)
    _wav(i / "no_frames.wav", [])
    (i / "empty.wav").write_bytes(b"")
    (i / "text.wav").write_text("RIFF? no, just text\n")


def make_bad_models(models: Path, b: Path) -> None:
    """Broken copies of the trained models: no card, a broken card, an emptied or cut archive ..."""
    if b.exists():
        shutil.rmtree(b)
    b.mkdir(parents=True)
    vision = models / "vision" / "model.keras"
    for domain in DOMAINS:
        (b / f"no_card-{domain}").mkdir()
        shutil.copy(models / domain / "model.keras", b / f"no_card-{domain}" / "model.keras")
    for name, card in (("broken_card", '{"domain": "vision", '), ("list_card", "[1, 2]")):
        (b / name).mkdir()
        shutil.copy(vision, b / name / "model.keras")
        (b / name / "model.json").write_text(card)
    (b / "swapped_card").mkdir()  # the vision model with the nlp model's card
    shutil.copy(vision, b / "swapped_card" / "model.keras")
    shutil.copy(models / "nlp" / "model.json", b / "swapped_card" / "model.json")
    (b / "no_catalogue").mkdir()
    for name in ("model.keras", "model.json"):
        shutil.copy(models / "recommendation" / name, b / "no_catalogue" / name)
    (b / "empty.keras").write_bytes(b"")
    content = vision.read_bytes()
    (b / "truncated.keras").write_bytes(content[: len(content) // 2])
    (b / "empty.json").write_text("{}")


# ---------------------------------------------------------------------------------------------
# Running and classifying
# ---------------------------------------------------------------------------------------------
def keras_applied() -> list[str]:
    script = Path(sys.executable).with_name("keras-applied")
    return [str(script)] if script.exists() else [sys.executable, "-m", "applications"]


def environment(root: Path) -> dict[str, str]:
    """Every keras-applied folder under ``root``; offline; the repository's data/ hidden."""
    return {
        **os.environ,
        "KERAS_APPLIED_RESULTS_DIR": str(root / "results"),
        "KERAS_APPLIED_WORK_DIR": str(root / "work"),
        "KERAS_APPLIED_CACHE_DIR": str(root / "cache"),
        "KERAS_APPLIED_OFFLINE": "1",
        "KERAS_APPLIED_NO_SHIPPED_DATA": "1",
        "MPLBACKEND": "Agg",
        "PYTHONUNBUFFERED": "1",
    }


def run(command, args, *, env, cwd, timeout, stdin=None) -> tuple[int | None, str, str, float]:
    """Exit status (None when killed at the timeout), stdout, stderr and seconds of one command.

    Each command runs in its own process group, so a timeout also stops what it started.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, *map(str, args)], cwd=cwd, env=env, text=True, encoding="utf-8", errors="replace",
        stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(stdin, timeout=timeout)
        code = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        code = None
    return code, stdout, stderr, time.perf_counter() - started


def classify(case: Case, code: int | None, stdout: str, stderr: str) -> str:
    if "Traceback (most recent call last)" in stderr:
        return "traceback"
    text = (stderr if case.expect == "refuse" else stdout + stderr).lower()
    named = all(word.lower() in text for word in case.names) and not any(word.lower() in text for word in case.avoid)
    if case.expect == "accept":
        return "ok" if code == 0 else "wrongly refused"
    if case.expect == "warn":
        if code == 0:
            return "warned" if named else "accepted"
        return "clear error" if code is not None and named else ("accepted" if code is None else "misleading")
    if code == 0 or code is None:
        return "accepted"
    return "clear error" if named else "misleading"


def message_line(stderr: str, stdout: str) -> str:
    """The line that answers the user: the first stderr line saying 'error' (argparse's usage lines
    and log lines come before it), else the first stderr line, else stdout's last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if "error" in line.lower() or line.startswith("Traceback"):
            return line
    if lines:
        return lines[0]
    out = [line.strip() for line in stdout.splitlines() if line.strip()]
    return f"(stdout) {out[-1]}" if out else ""


def train_models(command: list[str], root: Path, i: Path, env: dict[str, str], retrain: bool) -> float:
    """One smoke model per domain in ``root/models/DOMAIN`` (kept unless ``retrain``)."""
    extra = training_data(i)
    started = time.perf_counter()
    for domain in DOMAINS:
        workdir = root / "models" / domain
        if not retrain and (workdir / "model.keras").is_file() and (workdir / "model.json").is_file():
            continue
        if workdir.exists():
            shutil.rmtree(workdir)
        print(f"training the {domain} smoke model ...", flush=True)
        code, stdout, stderr, seconds = run(
            command, ["run", domain, "--preset", "smoke", "--workdir", workdir, *extra.get(domain, ())],
            env=env, cwd=root / "cwd", timeout=900,
        )
        if code != 0 or not (workdir / "model.keras").is_file():
            raise SystemExit(f"training the {domain} smoke model failed (exit {code}):\n{stderr[-3000:]}")
        print(f"  {seconds:.0f} s", flush=True)
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sweeps.malformed_inputs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="results/robustness/malformed_inputs.csv", help="The CSV to write (a summary JSON beside it).")
    parser.add_argument("--root", default=str(Path(os.environ.get("TMPDIR", "/tmp")) / "keras-applied-sweep"),
                        help="Scratch folder: inputs, models, and everything the commands write.")
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help="Seconds before a case counts as accepted.")
    parser.add_argument("--only", nargs="+", default=None, help="Run only cases whose id holds one of these words.")
    parser.add_argument("--retrain", action="store_true", help="Train the smoke models again even when present.")
    parser.add_argument("--show", action="store_true", help="Print the end of stderr of every problem case.")
    parser.add_argument("--cli", default=None, help="The command to test (default: the keras-applied beside this "
                        "Python); e.g. 'python -m applications' with PYTHONPATH at another checkout, for a before/after.")
    args = parser.parse_args(argv)
    if args.timeout < 1:
        parser.error(f"--timeout must be >= 1; received {args.timeout}.")

    started = time.perf_counter()
    root = Path(args.root).resolve()
    i, m, b, out = root / "inputs", root / "models", root / "bad_models", root / "outputs"
    env = environment(root)
    (root / "cwd").mkdir(parents=True, exist_ok=True)
    make_inputs(i)
    command = shlex.split(args.cli) if args.cli else keras_applied()
    training_seconds = train_models(command, root, i, env, args.retrain)
    make_bad_models(m, b)

    cases = [*run_cases(i, m), *predict_cases(i, m, b, out), *play_cases(i, m), *benchmark_cases(i, m), *command_cases(i)]
    assert len({c.id for c in cases}) == len(cases), "case ids must be unique"
    if args.only:
        cases = [c for c in cases if any(word in c.id for word in args.only)]
    rows = []
    for number, case in enumerate(cases, start=1):
        code, stdout, stderr, seconds = run(command, case.args, env=env, cwd=root / "cwd", timeout=args.timeout, stdin=case.stdin)
        verdict = classify(case, code, stdout, stderr)
        line = message_line(stderr, stdout) if code is not None else f"(still running after {args.timeout} s; killed)"
        print(f"[{number}/{len(cases)}] {verdict:<15} {case.id} ({seconds:.0f} s): {line[:160]}", flush=True)
        if args.show and verdict in PROBLEMS:
            print("    " + "\n    ".join(stderr.strip().splitlines()[-12:]), flush=True)
        rows.append({
            "case": case.id, "domain": case.domain,
            "command": "keras-applied " + shlex.join(case.args).replace(str(root), "$SWEEP"),
            "expected": case.expect + (f": {', '.join(case.names)}".replace(str(root), "$SWEEP") if case.names else ""),
            "exit_status": "timeout" if code is None else code, "classification": verdict,
            "first_stderr_line": line.replace(str(root), "$SWEEP"), "seconds": round(seconds, 1),
        })

    out_csv = Path(args.out)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    with open(out_csv, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    counts = Counter(row["classification"] for row in rows)
    summary = {
        "cases": len(rows),
        "counts": dict(sorted(counts.items())),
        "problems": {kind: [r["case"] for r in rows if r["classification"] == kind] for kind in PROBLEMS if counts[kind]},
        "wall_seconds": round(time.perf_counter() - started, 1),
        "training_seconds": round(training_seconds, 1),
        "timeout_seconds": args.timeout,
        "csv": str(out_csv),
    }
    out_csv.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))
    return 1 if any(counts[kind] for kind in PROBLEMS) else 0


if __name__ == "__main__":
    sys.exit(main())
