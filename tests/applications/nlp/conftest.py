"""Small text datasets made on the fly, and a tiny randomly initialised BERT preset."""

from __future__ import annotations

import numpy as np
import pytest

POSITIVE = ["good", "great", "wonderful", "fun", "moving", "brilliant"]
NEGATIVE = ["bad", "awful", "boring", "dull", "tedious", "terrible"]
FILLER = ["the", "a", "movie", "film", "plot", "was", "is", "and", "acting", "story", "quite", "very"]


def sentiment_texts(count: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Texts whose label is decided by one sentiment word among filler words."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for index in range(count):
        label = "pos" if index % 2 == 0 else "neg"
        words = list(rng.choice(FILLER, rng.integers(3, 9)))
        words.insert(int(rng.integers(0, len(words) + 1)), rng.choice(POSITIVE if label == "pos" else NEGATIVE))
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def write_csv(path, texts, labels, text_column="text", label_column="label") -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([text_column, label_column])
        writer.writerows(zip(texts, labels))


def write_sst2(folder, train_count: int = 200, dev_count: int = 40) -> None:
    """A GLUE-layout SST-2 folder (sentence<TAB>label, header) with synthetic sentences."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, count, seed in (("train.tsv", train_count, 0), ("dev.tsv", dev_count, 1)):
        texts, labels = sentiment_texts(count, seed)
        rows = [f"{t} \t{1 if label == 'pos' else 0}" for t, label in zip(texts, labels)]
        (folder / name).write_text("sentence\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")


@pytest.fixture
def sentiment_csv(tmp_path):
    texts, labels = sentiment_texts(400)
    path = tmp_path / "reviews.csv"
    write_csv(path, texts, labels)
    return path


def make_tiny_bert_preset(folder) -> str:
    """A keras-hub preset folder with a 1-layer, 16-wide BERT and a 30-word vocabulary (random
    weights): exercises the pretrained family offline in seconds."""
    import keras_hub

    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(POSITIVE + NEGATIVE + FILLER))]
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(vocabulary), num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32,
        max_sequence_length=64,
    )
    backbone.save_to_preset(str(folder))
    tokenizer.save_to_preset(str(folder))
    return str(folder)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> str:
    return make_tiny_bert_preset(tmp_path_factory.mktemp("tiny_bert"))
