"""Image classification: a small residual CNN from scratch, or transfer learning from
keras.applications, on Fashion-MNIST, MNIST, CIFAR-10, a folder of images or the bundled digits."""

from applications.registry import Domain

DOMAIN = Domain(
    name="vision",
    order=1,
    summary="Image classification: residual CNN from scratch or keras.applications transfer learning.",
    config_class="applications.vision.config:VisionConfig",
)
