# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Vision: image classification with a small residual CNN
#
# This tutorial trains the vision example of keras-applied and reads what it wrote. Everything
# here calls the package (`applications.vision`), so the notebook and the command
# `keras-applied run vision` are the same code.
#
# You will see:
# 1. how the data is found (a local folder, TFDS online, or scikit-learn's bundled digits);
# 2. the model: a pre-activation residual CNN, with rescaling inside so it takes raw pixels;
# 3. training through the shared `fit()` setup (mixed precision, checkpoints, resumable runs);
# 4. the results files, plots and a prediction with the saved model.
#
# The preset comes from `KERAS_APPLIED_NOTEBOOK_PRESET` (`quick` unless set; the tests use
# `smoke`). Point `KERAS_APPLIED_DATA_DIR` at a folder holding Fashion-MNIST's IDX files to
# train on it; without one, the bundled 8x8 digits are used.

# %%
import os

import numpy as np
from IPython.display import Image, display

from applications.vision import data, models, predict, train
from applications.vision.config import VisionConfig
from common import plots, precision

PRESET = os.environ.get("KERAS_APPLIED_NOTEBOOK_PRESET", "quick")
config = VisionConfig.from_preset(PRESET)
print(config.command("vision"))

# %% [markdown]
# ## 1. The data
#
# `data.load` resolves the dataset in the order every domain uses: a local folder
# (`--data-dir` or `$KERAS_APPLIED_DATA_DIR`), then the online source, then a dataset bundled in
# an installed package. Images stay uint8; the model rescales them.

# %%
images = data.load(config.dataset, data_dir=config.data_dir, seed=config.seed,
                   max_train_examples=config.max_train_examples)
print(images.name, "from the", images.source, "source; image shape", images.image_shape)
print({split: len(arrays[1]) for split, arrays in
       (("train", images.train), ("validation", images.validation), ("test", images.test))})
x, y = images.train
plots.image_grid(x[:16], [images.class_names[label] for label in y[:16]], columns=8, title="Training images")

# %% [markdown]
# ## 2. The model
#
# A pre-activation ResNet: each stage after the first halves the resolution and widens the
# channels; global average pooling replaces a large dense layer, so the model stays small.
# Under mixed precision the convolutions compute in bfloat16 (on CPUs with native bf16 and recent
# GPUs) while the output layer stays float32.

# %%
print("dtype policy chosen by --precision auto:", precision.resolve_policy("auto"))
model = models.build_residual_cnn(input_shape=images.image_shape, num_classes=len(images.class_names),
                                  widths=config.widths, blocks_per_stage=config.blocks_per_stage)
model.summary(line_length=90)

# %% [markdown]
# ## 3. Train and evaluate
#
# `train.train_and_evaluate` is the one entry point the command line, this notebook and the
# tests share. It writes `results/vision/<dataset>/<preset>/` and keeps the model file in a work
# folder outside git.

# %%
metrics = train.train_and_evaluate(config)
metrics

# %% [markdown]
# ## 4. Results
#
# Learning curves, the confusion matrix (rows: true class) and the test images the model got
# wrong with the most confidence.

# %%
run_dir = metrics["results_dir"]
for name in ("learning_curves", "confusion_matrix", "misclassified"):
    display(Image(filename=os.path.join(run_dir, "plots", f"{name}.png")))

# %% [markdown]
# ## 5. Predict with the saved model
#
# The saved `model.keras` takes raw images; `predict.predict_files` reads image files, resizes
# them to the model's input and returns the top classes.

# %%
import tempfile

from PIL import Image as PILImage

folder = tempfile.mkdtemp()
paths = []
for index in range(3):
    path = os.path.join(folder, f"test_{index}.png")
    PILImage.fromarray(images.test[0][index][..., 0]).save(path)
    paths.append(path)
for entry, label in zip(predict.predict_files(metrics["model_path"], paths), images.test[1]):
    print("true:", images.class_names[label], "| predicted:", entry["top"])

# %% [markdown]
# ## Where to go next
#
# - `keras-applied run vision --preset full` trains the larger model to the Fashion-MNIST target.
# - `--backbone mobilenet_v3_small --weights imagenet` fine-tunes a pretrained backbone
#   (online, or with a local weights file); `--dataset folder --data-dir PATH` trains on your
#   own images in class subfolders.
# - `keras-applied benchmark vision` measures throughput, input-pipeline speed and FLOP
#   utilisation into `results/benchmarks/`.
