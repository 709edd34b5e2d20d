"""Spoken-word recognition settings and presets.

Three protocols, each its own results folder (measured figures are in results/speech/ and the
domain README):

- ``official`` (``keras-applied run speech --preset quick``): train on the dataset's training
  split, test on its test split. Target: FSDD official test accuracy >= 0.99 in <= 10 minutes on
  2 CPU cores (quick).
- ``loso`` (``--protocol loso``): leave one FSDD speaker out: train on five speakers, test on the
  sixth, once per speaker (six trainings, so quick and full train 15 epochs each).
  Target: mean accuracy >= 0.85.
- ``transfer`` (``--protocol transfer``): pretrain on synthesized digits, fine-tune on k real FSDD
  recordings per digit (k = 1, 5, 20, all) against training on them from scratch. Target:
  pretraining beats scratch at k = 5.

``smoke`` runs in seconds on synthesized digits, for tests.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from common.config import ConfigError, RunConfig, option

DATASETS = ("auto", "fsdd", "speech_commands", "folder", "synthetic")
PROTOCOLS = ("official", "loso", "transfer")
ARCHITECTURES = ("cnn", "transformer")
VOCABULARIES = ("digits", "commands")


@dataclasses.dataclass(frozen=True)
class SpeechConfig(RunConfig):
    dataset: str = option(
        "auto",
        "'fsdd' (recordings/{digit}_{speaker}_{index}.wav under --data-dir, or TFDS spoken_digit "
        "online), 'speech_commands' (the extracted archive under --data-dir, or TFDS online; the ten "
        "command words), 'folder' (--data-dir holds class subfolders of WAV files), 'synthetic' "
        "(words spoken by eSpeak NG, offline), or 'auto' (FSDD where found, else synthetic digits).",
        choices=DATASETS,
    )
    protocol: str = option(
        "official",
        "'official': the dataset's train/test split; 'loso': leave one FSDD speaker out, for every "
        "speaker; 'transfer': synthetic pretraining vs. scratch with k real FSDD clips per digit.",
        choices=PROTOCOLS,
    )
    architecture: str = option("cnn", "'cnn' on log-mel features, or a small 'transformer' encoder.", choices=ARCHITECTURES)
    vocabulary: str = option(
        "digits", "Words of --dataset synthetic: 'digits' (zero..nine) or 'commands' (yes, no, up, ...).",
        choices=VOCABULARIES,
    )
    synthetic_per_class: int = option(300, "Synthesized utterances per word (synthetic data and transfer pretraining).", minimum=1)
    sample_rate: int = option(8000, "Sample rate (Hz) every clip is resampled to; the model's input rate.", minimum=4000)
    clip_seconds: float = option(1.0, "Model window in seconds; longer clips keep their loudest part, shorter ones are padded.", minimum=0.1)
    num_mel_bins: int = option(40, "Mel bands of the spectrogram computed inside the model.", minimum=8)
    widths: tuple[int, ...] = option((16, 32, 64), "CNN: channels of each stage (two 3x3 convolutions, then 2x2 max-pooling).", minimum=1)
    model_dim: int = option(96, "Transformer: width of the encoder.", minimum=8)
    num_heads: int = option(4, "Transformer: attention heads.", minimum=1)
    num_layers: int = option(2, "Transformer: encoder blocks.", minimum=1)
    dropout_rate: float = option(0.2, "Dropout before the classifier (and inside the Transformer).", minimum=0.0)
    weight_decay: float = option(1e-3, "AdamW decoupled weight decay.", minimum=0.0)
    label_smoothing: float = option(0.1, "Label smoothing of the cross-entropy loss.", minimum=0.0)
    augment: bool = option(True, "Speed/shift/noise on the waveform and SpecAugment masks during training.")
    speed_perturbation: float = option(0.15, "Speed changes by up to this fraction (pitch and tempo together).", minimum=0.0)
    max_shift_seconds: float = option(0.15, "Time shifts of up to this many seconds.", minimum=0.0)
    noise_probability: float = option(0.5, "Share of training clips that get Gaussian noise.", minimum=0.0)
    noise_snr_db: tuple[float, ...] = option((10.0, 40.0), "SNR range (dB) of that noise: low high.")
    time_masks: int = option(2, "SpecAugment time masks per clip.", minimum=0)
    time_mask_width: int = option(10, "Widest time mask, in 10 ms frames.", minimum=0)
    freq_masks: int = option(2, "SpecAugment frequency masks per clip.", minimum=0)
    freq_mask_width: int = option(6, "Widest frequency mask, in mel bands.", minimum=0)
    validation_fraction: float = option(0.1, "Share of the training clips held out for validation (stratified).", minimum=0.01)
    max_train_examples: int = option(0, "Use at most this many training clips (0: all); for smoke runs.", minimum=0)
    patience: int = option(0, "Stop after this many epochs without validation improvement (0: never).", minimum=0)
    synthetic_pretraining: bool = option(
        False, "official/loso: start from a model pretrained on synthesized digits (FSDD digits only).")
    baseline: bool = option(True, "Also fit the MFCC + RBF-SVM baseline on the same split(s).")
    loso_speakers: tuple[str, ...] = option((), "loso: speakers to hold out in turn (empty: every speaker).")
    transfer_shots: tuple[int, ...] = option((1, 5, 20, 0), "transfer: real clips per digit to fine-tune on (0: all).", minimum=0)
    transfer_repeats: int = option(2, "transfer: random draws of the k clips per k (except 'all'); results are averaged.", minimum=1)
    pretrain_epochs: int = option(20, "transfer: epochs of pretraining on synthetic digits.", minimum=1)
    finetune_epochs: int = option(10, "transfer: epochs of each fine-tuning / from-scratch run on the k real clips.", minimum=1)
    finetune_learning_rate: float = option(1e-3, "transfer: peak learning rate when fine-tuning the pretrained model.", minimum=0.0)
    few_shot_epoch_size: int = option(640, "transfer: a small training set is repeated to this many clips per epoch.", minimum=1)

    def validate(self) -> None:
        super().validate()
        if not 0 < self.validation_fraction < 0.5:
            raise ConfigError(f"SpeechConfig.validation_fraction must be in (0, 0.5); received {self.validation_fraction}.")
        if self.dropout_rate >= 1:
            raise ConfigError(f"SpeechConfig.dropout_rate must be < 1; received {self.dropout_rate}.")
        if len(self.noise_snr_db) != 2 or self.noise_snr_db[0] > self.noise_snr_db[1]:
            raise ConfigError(f"SpeechConfig.noise_snr_db must be two values, low <= high; received {self.noise_snr_db}.")
        if self.speed_perturbation >= 0.5:
            raise ConfigError(f"SpeechConfig.speed_perturbation must be < 0.5; received {self.speed_perturbation}.")
        if self.protocol in ("loso", "transfer") and self.dataset not in ("auto", "fsdd"):
            raise ConfigError(
                f"--protocol {self.protocol} uses FSDD (its speakers and digits); received --dataset {self.dataset!r}. "
                "Use --dataset fsdd (or auto)."
            )
        if self.synthetic_pretraining and self.protocol == "official" and self.dataset not in ("auto", "fsdd"):
            raise ConfigError(
                f"--synthetic-pretraining pretrains on synthesized digits for FSDD; received --dataset {self.dataset!r}."
            )
        if self.model_dim % self.num_heads:
            raise ConfigError(f"SpeechConfig.model_dim ({self.model_dim}) must be divisible by num_heads ({self.num_heads}).")

    # -- presets: the quick preset's epochs depend on the protocol -----------------------------
    PRESET_SELECTORS: ClassVar[tuple[str, ...]] = ("protocol",)

    @classmethod
    def preset_for(cls, name: str, *, protocol: str = "official", **_: Any) -> SpeechConfig:
        """The named preset for ``protocol``: quick and full loso train each of their six folds
        15 epochs (results/speech/fsdd/quick-loso)."""
        base = getattr(cls, name)()
        if name != "smoke" and protocol == "loso":
            base = base.replace(epochs=15)
        return base

    @classmethod
    def smoke(cls) -> SpeechConfig:
        return cls(preset="smoke", dataset="synthetic", epochs=1, batch_size=32, max_train_examples=160,
                   synthetic_per_class=20, widths=(8, 16), model_dim=32, num_heads=2, num_layers=1,
                   transfer_shots=(1, 0), transfer_repeats=1, pretrain_epochs=1, finetune_epochs=1, few_shot_epoch_size=64,
                   loso_speakers=())

    @classmethod
    def quick(cls) -> SpeechConfig:
        return cls(preset="quick", epochs=25, batch_size=64, learning_rate=3e-3, widths=(16, 32, 64))

    @classmethod
    def full(cls) -> SpeechConfig:
        return cls(preset="full", epochs=40, batch_size=64, learning_rate=3e-3, widths=(24, 48, 96),
                   synthetic_per_class=500, pretrain_epochs=30)
