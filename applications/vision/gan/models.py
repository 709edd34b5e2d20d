"""Conditional DCGAN networks and the model that trains both in one ``fit()``.

Written with keras.layers / keras.ops only, so it trains on every backend.

How one optimizer step trains two adversaries. :class:`ConditionalGAN` returns three
discriminator logits per example: on the real image (``r``), on the generated image with the
generator's gradient stopped (``f_d``), and on the same generated image (``f_g``). The loss

    softplus(-r) + softplus(f_d)              the discriminator's cross-entropy (real 1, fake 0)
  + softplus(-f_g) - softplus(-f_d)           the generator's non-saturating loss, -log D(G(z))

has the value of the discriminator loss (``f_g`` and ``f_d`` are the same number), and gradients
that split the right way: the discriminator's weights get only the first line (the two terms of
the second line are the same function of its weights and cancel exactly), and the generator's
weights get only ``softplus(-f_g)`` (every other term sees the generator through a stop).
So both networks descend their own objective in the same step, the usual simultaneous-update
GAN, with no backend-specific training step. The discriminator must therefore be deterministic
(no dropout or batch statistics): it is a plain strided CNN with leaky ReLUs.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers, ops


def build_generator(
    *, latent_dim: int, num_classes: int, image_shape: Sequence[int], width: int = 64
) -> keras.Model:
    """(noise [B, latent_dim], label [B]) -> image [B, H, W, C] in [-1, 1].

    Starts at a quarter of the image side and up-samples twice with transposed convolutions.
    """
    height, width_px, channels = image_shape
    if height % 4 or width_px % 4:
        raise ValueError(f"The generator needs image sides divisible by 4; received {tuple(image_shape)}.")
    start = (height // 4, width_px // 4)
    noise = keras.Input(shape=(latent_dim,), name="noise")
    label = keras.Input(shape=(), dtype="int32", name="label")
    y = layers.Embedding(num_classes, start[0] * start[1], name="label_embedding")(label)
    y = layers.Reshape((*start, 1), name="label_plane")(y)
    x = layers.Dense(start[0] * start[1] * 2 * width, use_bias=False, name="project")(noise)
    x = layers.Reshape((*start, 2 * width), name="project_reshape")(x)
    x = layers.Concatenate(name="with_label")([x, y])
    x = layers.BatchNormalization(name="project_bn")(x)
    x = layers.ReLU(name="project_relu")(x)
    for index, filters in enumerate((2 * width, width), start=1):
        x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False, name=f"up{index}")(x)
        x = layers.BatchNormalization(name=f"up{index}_bn")(x)
        x = layers.ReLU(name=f"up{index}_relu")(x)
    image = layers.Conv2D(channels, 3, padding="same", activation="tanh", dtype="float32", name="image")(x)
    return keras.Model([noise, label], image, name="generator")


def build_discriminator(*, num_classes: int, image_shape: Sequence[int], width: int = 64) -> keras.Model:
    """(image [B, H, W, C] in [-1, 1], label [B]) -> logit [B, 1] that the image is a real one of that class."""
    height, width_px, _ = image_shape
    image = keras.Input(shape=tuple(image_shape), name="image")
    label = keras.Input(shape=(), dtype="int32", name="label")
    y = layers.Embedding(num_classes, height * width_px, name="label_embedding")(label)
    y = layers.Reshape((height, width_px, 1), name="label_plane")(y)
    x = layers.Concatenate(name="with_label")([image, y])
    for index, filters in enumerate((width, 2 * width), start=1):
        x = layers.Conv2D(filters, 4, strides=2, padding="same", name=f"down{index}")(x)
        x = layers.LeakyReLU(0.2, name=f"down{index}_lrelu")(x)
    x = layers.Flatten(name="flatten")(x)
    logit = layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model([image, label], logit, name="discriminator")


@keras.saving.register_keras_serializable(package="keras_applied")
class ConditionalGAN(keras.Model):
    """Trains ``generator`` and ``discriminator`` together; see the module docstring.

    Input: ``{"image": real images in [-1, 1], "label": int class}``. Output: ``[B, 3]`` logits
    (real, generated as the discriminator sees it, generated as the generator sees it), to be
    trained with :func:`gan_loss` against any target (the target is ignored).
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.seed = seed
        self.noise_seed = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        images, labels = inputs["image"], inputs["label"]
        noise = keras.random.normal((ops.shape(labels)[0], self.latent_dim), seed=self.noise_seed)
        fake = self.generator([noise, labels], training=training)
        fake = ops.cast(fake, images.dtype)
        real_logit = self.discriminator([images, labels], training=training)
        fake_for_d = self.discriminator([ops.stop_gradient(fake), labels], training=training)
        fake_for_g = self.discriminator([fake, labels], training=training)
        return ops.concatenate([real_logit, fake_for_d, fake_for_g], axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        generator = keras.saving.deserialize_keras_object(config.pop("generator"))
        discriminator = keras.saving.deserialize_keras_object(config.pop("discriminator"))
        return cls(generator, discriminator, **config)


def _logits(y_pred):
    y_pred = ops.cast(y_pred, "float32")
    return y_pred[:, 0], y_pred[:, 1], y_pred[:, 2]


@keras.saving.register_keras_serializable(package="keras_applied")
def gan_loss(y_true, y_pred):
    """Discriminator cross-entropy + the generator's non-saturating loss, gradients split (module doc)."""
    real, fake_for_d, fake_for_g = _logits(y_pred)
    discriminator = ops.softplus(-real) + ops.softplus(fake_for_d)
    generator = ops.softplus(-fake_for_g) - ops.softplus(-fake_for_d)  # value 0, gradient to G only
    return discriminator + generator


@keras.saving.register_keras_serializable(package="keras_applied")
def d_loss(y_true, y_pred):
    """The discriminator's binary cross-entropy (real images 1, generated 0)."""
    real, fake, _ = _logits(y_pred)
    return ops.softplus(-real) + ops.softplus(fake)


@keras.saving.register_keras_serializable(package="keras_applied")
def g_loss(y_true, y_pred):
    """The generator's non-saturating loss, -log D(G(z))."""
    _, _, fake = _logits(y_pred)
    return ops.softplus(-fake)


@keras.saving.register_keras_serializable(package="keras_applied")
def d_accuracy(y_true, y_pred):
    """Share of real and generated images the discriminator tells apart (0.5: it cannot)."""
    real, fake, _ = _logits(y_pred)
    return 0.5 * (ops.cast(real > 0, "float32") + ops.cast(fake < 0, "float32"))


def build_gan(
    *, latent_dim: int, num_classes: int, image_shape: Sequence[int], generator_width: int,
    discriminator_width: int, learning_rate: float, seed: int = 0,
) -> ConditionalGAN:
    """The generator and discriminator wrapped in a compiled :class:`ConditionalGAN`."""
    gan = ConditionalGAN(
        build_generator(latent_dim=latent_dim, num_classes=num_classes, image_shape=image_shape, width=generator_width),
        build_discriminator(num_classes=num_classes, image_shape=image_shape, width=discriminator_width),
        seed=seed,
        name="conditional_gan",
    )
    gan.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.5),
        loss=gan_loss,
        metrics=[d_loss, g_loss, d_accuracy],
    )
    return gan
