"""Conditional GAN settings and presets.

- ``smoke``: one short epoch on a slice of the bundled digits; seconds, for tests.
- ``quick``: ``keras-applied run vision gan --preset quick``: Fashion-MNIST, a few epochs.
- ``full``: ``keras-applied run vision gan --preset full``: wider networks, more epochs.
"""

from __future__ import annotations

import dataclasses

from applications.vision.config import DATASETS
from common.config import ConfigError, RunConfig, option


@dataclasses.dataclass(frozen=True)
class GanConfig(RunConfig):
    dataset: str = option(
        "auto",
        "Images to learn: the vision datasets ('auto': Fashion-MNIST where found, else the bundled "
        "digits; 'folder': --data-dir holds class subfolders). Sides must be divisible by 4.",
        choices=DATASETS,
    )
    learning_rate: float = option(2e-4, "Adam learning rate of both networks (beta_1 = 0.5, as in DCGAN).", minimum=0.0)
    latent_dim: int = option(64, "Size of the noise vector the generator starts from.", minimum=1)
    generator_width: int = option(64, "Channels of the generator's last up-sampling block (the first has twice as many).", minimum=1)
    discriminator_width: int = option(64, "Channels of the discriminator's first convolution (the second has twice as many).", minimum=1)
    max_train_examples: int = option(0, "Use at most this many training images (0: all); for smoke runs.", minimum=0)
    judge_epochs: int = option(2, "Epochs to train the judge classifier on the real images.", minimum=1)
    eval_samples: int = option(5000, "Generated images scored at the end (and 1/5 of it after every epoch).", minimum=10)

    def validate(self) -> None:
        super().validate()
        if self.dataset == "cifar10" and self.generator_width < 32:
            raise ConfigError(f"GanConfig.generator_width {self.generator_width} is too small for colour images; use >= 32.")

    @classmethod
    def smoke(cls) -> GanConfig:
        return cls(preset="smoke", dataset="digits", epochs=1, batch_size=64, max_train_examples=512,
                   generator_width=8, discriminator_width=8, latent_dim=16, judge_epochs=1, eval_samples=200)

    @classmethod
    def quick(cls) -> GanConfig:
        return cls(preset="quick", epochs=8, batch_size=128, generator_width=32, discriminator_width=32)

    @classmethod
    def full(cls) -> GanConfig:
        return cls(preset="full", epochs=30, batch_size=128, generator_width=64, discriminator_width=64,
                   judge_epochs=4, eval_samples=10000)
