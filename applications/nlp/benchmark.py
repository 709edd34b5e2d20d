"""``keras-applied benchmark nlp``: tokens per second, training and batch inference, both families.

For each model (the quick preset's Transformer and BiLSTM, and the fine-tuned MiniLM) it builds
the model and the real input pipeline on SST-2 (or synthetic texts when SST-2 is not found),
then measures:

- training: ``fit()`` steps on length-bucketed, trimmed batches (what a run does), a random
  sample of the pipeline's first batches, after warm-up;
- inference: ``predict()`` on batches of token ids (model only), and ``predict_texts`` on raw
  strings (tokenisation included: what a saved model costs a user).

Tokens are real (non-padding) tokens; padded positions/s is reported beside them. Results go to
``results/benchmarks/nlp.json``. Run it under the shared CPU lock: figures from a loaded
machine are noise.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence

import numpy as np

from common import cli
from common.config import PRECISIONS

log = logging.getLogger("keras_applied.nlp")
MODELS = ("transformer", "lstm", "pretrained")


def _texts(data_dir: str | None):
    from applications.nlp import data
    from common.data import DataNotFoundError

    try:
        return data.load("sst2", data_dir=data_dir)
    except DataNotFoundError as why:
        log.warning("SST-2 not found (%s); benchmarking on synthetic texts.", str(why).splitlines()[0])
        rng = np.random.default_rng(0)
        words = np.array([f"word{i}" for i in range(5000)], dtype=object)
        texts = np.array([" ".join(rng.choice(words, rng.integers(3, 40))) for _ in range(6000)], dtype=object)
        labels = (rng.random(6000) < 0.5).astype(np.int32)
        return data.TextData("synthetic", "generated", ["0", "1"], (texts[:4000], labels[:4000]),
                             (texts[4000:5000], labels[4000:5000]), (texts[5000:], labels[5000:]))


def _count_tokens(batch_features) -> tuple[int, int]:
    """(real tokens, padded positions) of a batch."""
    if isinstance(batch_features, dict):
        mask = np.asarray(batch_features["padding_mask"])
    else:
        mask = np.asarray(batch_features) != 0
    return int(mask.sum()), int(mask.size)


class _StepTimes:
    def __init__(self):
        import keras

        class Callback(keras.callbacks.Callback):
            def on_train_batch_end(inner, batch, logs=None):  # noqa: N805
                self.times.append(time.perf_counter())

        self.times: list[float] = []
        self.callback = Callback()


def measure(model_name: str, texts, *, steps: int, warmup: int, checkpoint: str, precision: str,
            inference_batch_size: int) -> dict:
    from applications.nlp import data, models, train
    from applications.nlp.config import NLPConfig
    from common import training

    config = NLPConfig.from_preset("quick", model=model_name, precision=precision, checkpoint=checkpoint)
    with training.run_session(seed=0, precision_name=precision) as session:
        if model_name == "pretrained":
            sequence_length = config.sequence_length or 64
            featurize, classifier, preprocessor = train.build_pretrained(config, texts, sequence_length)
            from applications.nlp import pretrained

            saved = pretrained.export_classifier(classifier, preprocessor)
        else:
            sequence_length = data.choose_sequence_length(texts.train[0], config.sequence_length)
            featurize, classifier, saved = train.build_scratch(config, texts, sequence_length)
        train_ds, validation_ds, _ = data.pipelines(texts, featurize, batch_size=config.batch_size, seed=0,
                                                      sequence_length=sequence_length)
        train.compile_model(classifier, config, steps_per_epoch=1000)
        # Length buckets fill at different rates (short texts first), so time a random sample of
        # the first batches rather than the first few: a mix of lengths like a real epoch.
        pool = list(train_ds.take((steps + warmup) * 6))
        chosen = np.random.default_rng(0).choice(len(pool), min(len(pool), steps + warmup), replace=False)
        batches = [pool[i] for i in chosen]
        timer = _StepTimes()
        classifier.fit(_replay(batches), epochs=1, steps_per_epoch=len(batches), verbose=0, callbacks=[timer.callback])
        elapsed = timer.times[-1] - timer.times[warmup - 1]
        counted = [_count_tokens(features) for features, _ in batches[warmup:]]
        real, padded = sum(c[0] for c in counted), sum(c[1] for c in counted)
        examples = sum(int(labels.shape[0]) for _, labels in batches[warmup:])
        result = {
            "dtype_policy": session.policy,
            "parameters": classifier.count_params(),
            "sequence_length": sequence_length,
            "train_batch_size": config.batch_size,
            "train_steps_timed": len(counted),
            "train_seconds_per_step": elapsed / len(counted),
            "train_tokens_per_second": real / elapsed,
            "train_padded_positions_per_second": padded / elapsed,
            "train_examples_per_second": examples / elapsed,
        }
        # Inference on token ids (model only), ordered batches trimmed to their longest text.
        inference_texts = np.concatenate([texts.validation[0], texts.test[0]])[: inference_batch_size * 8]
        ids_ds = data.pipelines(
            data.TextData(texts.name, texts.source, texts.class_names, texts.train,
                          (inference_texts, np.zeros(len(inference_texts), np.int32)),
                          (inference_texts, np.zeros(len(inference_texts), np.int32))),
            featurize, batch_size=inference_batch_size, seed=0, sequence_length=sequence_length,
        )[2]
        id_batches = [features for features, _ in ids_ds]
        classifier.predict(_replay(id_batches[:1]), verbose=0)  # warm-up
        start = time.perf_counter()
        classifier.predict(_replay(id_batches), verbose=0)
        elapsed = time.perf_counter() - start
        real = sum(_count_tokens(features)[0] for features in id_batches)
        result.update({
            "inference_batch_size": inference_batch_size,
            "inference_tokens_per_second": real / elapsed,
            "inference_examples_per_second": len(inference_texts) / elapsed,
        })
        # End to end on raw strings, the saved model's own tokenisation included.
        models.predict_texts(saved, inference_texts[:inference_batch_size], batch_size=inference_batch_size)
        start = time.perf_counter()
        models.predict_texts(saved, inference_texts, batch_size=inference_batch_size)
        elapsed = time.perf_counter() - start
        result["raw_text_inference_tokens_per_second"] = real / elapsed
        result["raw_text_inference_examples_per_second"] = len(inference_texts) / elapsed
    log.info("%s: %s", model_name, {k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()})
    return result


def _replay(batches):
    """A tf.data dataset that yields exactly these (already built) batches, in order."""
    import tensorflow as tf

    return tf.data.Dataset.from_generator(
        lambda: iter(batches),
        output_signature=tf.nest.map_structure(
            lambda t: tf.TensorSpec([None] * len(t.shape), t.dtype), batches[0]
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:

    parser = cli.ArgumentParser(
        prog="keras-applied benchmark nlp",
        description="Tokens/s of training and batch inference for the from-scratch and pretrained models "
        "(writes results/benchmarks/nlp.json). Run under the shared CPU lock.",
    )
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS, help="Models to measure.")
    parser.add_argument("--data-dir", default=None, help="Folder holding SST-2 (default $KERAS_APPLIED_DATA_DIR); "
                        "synthetic texts when not found.")
    parser.add_argument("--checkpoint", default=None, help="Encoder for the pretrained model (default: the config's, MiniLM).")
    parser.add_argument("--steps", type=int, default=30, help="Training steps timed per model (after warm-up).")
    parser.add_argument("--warmup", type=int, default=5, help="Training steps run before timing (tracing, caches).")
    parser.add_argument("--inference-batch-size", type=int, default=128, help="Texts per inference batch.")
    parser.add_argument("--precision", default="auto", choices=list(PRECISIONS), help="Dtype policy ('auto' as in training runs).")
    parser.add_argument("--results-dir", default=None, help="Results root (default ./results).")
    args = parser.parse_args(argv)
    cli.check_at_least(parser, args, steps=1, warmup=0, inference_batch_size=1)
    cli.check_data_dir_flag(parser, args.data_dir)
    cli.configure_process()

    from applications.nlp.config import DEFAULT_CHECKPOINT
    from common import results
    from common.errors import UserInputError

    texts = _texts(args.data_dir)
    figures = {"dataset": texts.name}
    for name in args.models:
        try:
            figures[name] = measure(name, texts, steps=args.steps, warmup=args.warmup,
                                    checkpoint=args.checkpoint or DEFAULT_CHECKPOINT, precision=args.precision,
                                    inference_batch_size=args.inference_batch_size)
        except UserInputError as error:  # e.g. the checkpoint is unavailable offline
            print(f"keras-applied benchmark nlp: {name} skipped: {error}", file=sys.stderr)
            figures[name] = {"skipped": str(error)}
    policies = {f["dtype_policy"] for f in figures.values() if isinstance(f, dict) and "dtype_policy" in f}
    results.write_benchmark("nlp", figures, args.results_dir, policy=policies.pop() if len(policies) == 1 else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
