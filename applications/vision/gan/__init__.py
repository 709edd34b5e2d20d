"""Conditional GAN (DCGAN family) on the vision domain's datasets: ``keras-applied run vision gan``.

A generator turns noise and a class label into an image; a discriminator tells real from
generated images of that class. Both train in one ``fit()`` (the shared resumable loop) through a
loss whose gradients split into each network's own objective (see :mod:`.models`). Samples are
scored by a classifier trained on the real images (the "judge"): the Frechet distance between
judge features of generated and real test images, and how often the judge recognises the class
a sample was asked for.
"""
