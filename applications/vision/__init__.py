"""Image classification: a small residual CNN from scratch, or transfer learning from
keras.applications, on Fashion-MNIST, MNIST, CIFAR-10, a folder of images or the bundled digits; and a conditional
GAN on the same data (:mod:`applications.vision.gan`)."""

from applications.registry import Domain

DOMAIN = Domain(
    name="vision",
    order=1,
    summary="Image classification: residual CNN from scratch or keras.applications transfer learning; "
    "a conditional GAN (`run vision gan`).",
    config_class="applications.vision.config:VisionConfig",
    fallback=("--dataset", "digits"),
    run_all=((), ("gan",)),
)
