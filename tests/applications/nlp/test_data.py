"""NLP data sources, readers, bad input and pipelines on tiny data (and the real files)."""

from __future__ import annotations

import numpy as np
import pytest

from applications.nlp import data
from common.errors import DataError, DataNotFoundError
from tests.applications.nlp.conftest import sentiment_texts, write_csv, write_sst2


def test_sst2_folder_uses_dev_as_test(tmp_path):
    write_sst2(tmp_path / "nlp" / "sst2", train_count=100, dev_count=20)
    texts = data.load("sst2", data_dir=str(tmp_path), validation_fraction=0.2)
    assert texts.source == "local" and texts.class_names == ["negative", "positive"]
    assert texts.sizes() == {"train": 80, "validation": 20, "test": 20}
    assert isinstance(texts.train[0][0], str) and not texts.train[0][0].endswith(" ")  # GLUE's trailing space stripped
    assert texts.train[1].dtype == np.int32 and texts.positive_class is None


def test_missing_dataset_offline_says_what_to_provide(tmp_path):
    with pytest.raises(DataNotFoundError, match="(?s)local:.*train.tsv.*online:.*unreachable"):
        data.load("sst2", data_dir=str(tmp_path))


def test_sms_file_counts_bad_rows_and_splits_stratified(tmp_path):
    folder = tmp_path / "sms_spam_collection"
    folder.mkdir()
    lines = [b"ham\tsee you at lunch"] * 40 + [b"spam\tWIN a FREE prize now"] * 10
    lines += [b"ham\t", b"spam\tclaim your caf\xe9 voucher", b"a line without a tab"]
    (folder / "SMSSpamCollection").write_bytes(b"\n".join(lines) + b"\n")
    texts = data.load("sms_spam", data_dir=str(tmp_path), test_fraction=0.2, validation_fraction=0.2)
    assert texts.class_names == ["ham", "spam"] and texts.positive_class == "spam"
    assert texts.skipped.counts == {"empty text": 1, "line without a tab": 1}
    assert texts.adjusted.counts[data.REPLACED] == 1
    everything = np.concatenate([texts.train[0], texts.validation[0], texts.test[0]])
    assert any("caf\ufffd" in t for t in everything) and len(everything) == 51
    assert np.bincount(texts.test[1]).tolist() == [8, 2]  # 20% of each class


def test_csv_with_integer_and_string_labels(tmp_path):
    path = tmp_path / "numbers.csv"
    write_csv(path, [f"text number {i}" for i in range(60)], [(i % 3) * 5 for i in range(60)])
    texts = data.load("csv", data_file=str(path))
    assert texts.class_names == ["0", "5", "10"]  # integer labels sorted numerically
    path = tmp_path / "words.tsv"
    path.write_text("review\tgrade\n" + "".join(f"nice text {i}\t{'bad' if i % 2 else 'good'}\n" for i in range(40)))
    texts = data.load("csv", data_file=str(path), text_column="review", label_column="grade")
    assert texts.class_names == ["bad", "good"] and sum(texts.sizes().values()) == 40


def test_csv_missing_columns_lists_the_columns_found(tmp_path):
    path = tmp_path / "reviews.csv"
    write_csv(path, ["a", "b"], [0, 1], text_column="review", label_column="y")
    with pytest.raises(DataError, match=r"expected column\(s\) \['text', 'label'\]. Received columns: \['review', 'y'\]"):
        data.load("csv", data_file=str(path))


def test_csv_empty_texts_missing_labels_and_bad_bytes_are_counted(tmp_path):
    texts, labels = sentiment_texts(40)
    path = tmp_path / "reviews.csv"
    write_csv(path, texts, labels)
    with open(path, "ab") as handle:
        handle.write(b'"   ",pos\n')  # empty after stripping
        handle.write(b"some text,\n")  # no label
        handle.write(b"na\xefve \xff review,neg\n")  # not UTF-8
    loaded = data.load("csv", data_file=str(path))
    assert loaded.skipped.counts == {"empty text": 1, "missing label": 1}
    assert loaded.adjusted.counts[data.REPLACED] == 1
    assert sum(loaded.sizes().values()) == 41


def test_a_single_class_is_rejected(tmp_path):
    path = tmp_path / "one.csv"
    write_csv(path, [f"text {i}" for i in range(10)], ["spam"] * 10)
    with pytest.raises(DataError, match=r"expected at least 2 classes to classify; received 1 \(\['spam'\]\)"):
        data.load("csv", data_file=str(path))


def test_test_labels_unseen_in_training_are_skipped_and_counted(tmp_path):
    texts, labels = sentiment_texts(40)
    write_csv(tmp_path / "train.csv", texts, labels)
    write_csv(tmp_path / "test.csv", texts[:10], labels[:8] + ["neutral", "neutral"])
    loaded = data.load("csv", data_file=str(tmp_path / "train.csv"), test_file=str(tmp_path / "test.csv"))
    assert loaded.sizes()["test"] == 8
    assert loaded.skipped.counts == {"test label not seen in training": 2}
    write_csv(tmp_path / "other.csv", texts[:3], ["x", "y", "z"])
    with pytest.raises(DataError, match=r"none of the 3 test labels is a class seen in training \['neg', 'pos'\]"):
        data.load("csv", data_file=str(tmp_path / "train.csv"), test_file=str(tmp_path / "other.csv"))


def test_aclimdb_folder_ignores_unsup_and_skips_empty_files(tmp_path):
    root = tmp_path / "aclImdb"
    for split in ("train", "test"):
        for label in ("pos", "neg", "unsup"):
            (root / split / label).mkdir(parents=True)
            for index in range(6):
                (root / split / label / f"{index}_7.txt").write_text(f"{label} review number {index}")
    (root / "train" / "pos" / "empty_1.txt").write_text("  ")
    texts = data.load("imdb", data_dir=str(tmp_path), validation_fraction=0.25)
    assert texts.class_names == ["neg", "pos"] and texts.sizes() == {"train": 8, "validation": 4, "test": 12}
    assert texts.skipped.counts == {"empty text": 1}


def test_imdb_from_tfds_uses_the_online_source(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=12):
        texts = data.load("imdb", data_dir=str(tmp_path), validation_fraction=0.25)
    assert texts.source == "online" and texts.class_names == ["neg", "pos"]
    assert texts.sizes()["test"] == 12 and isinstance(texts.test[0][0], str)


def test_folder_of_class_subfolders(tmp_path):
    for label in ("alpha", "beta"):
        (tmp_path / label).mkdir()
        for index in range(10):
            (tmp_path / label / f"{index}.txt").write_text(f"{label} text {index}")
    (tmp_path / "beta" / "notes.md").write_text("not a .txt file")
    texts = data.load("folder", data_dir=str(tmp_path))
    assert texts.class_names == ["alpha", "beta"] and sum(texts.sizes().values()) == 20
    assert texts.skipped.total() == 1


def test_sequence_length_rule():
    texts = [" ".join(["w"] * n) for n in range(1, 101)]
    assert data.choose_sequence_length(texts) == 104  # 99th percentile 99.01 -> multiple of 8
    assert data.choose_sequence_length(["a b"] * 10) == 16 and data.choose_sequence_length(texts, 40) == 40
    assert data.choose_sequence_length([" ".join(["w"] * 1000)]) == 256


def test_pipelines_bucket_and_trim_and_keep_evaluation_order(tmp_path):
    import tensorflow as tf

    from applications.nlp import models

    texts, labels = sentiment_texts(200)
    path = tmp_path / "reviews.csv"
    write_csv(path, texts, labels)
    loaded = data.load("csv", data_file=str(path))
    vectorizer = models.build_vectorizer(loaded.train[0], vocabulary_size=100, sequence_length=32)

    def featurize(text):
        return tf.cast(vectorizer(tf.expand_dims(text, 0))[0], tf.int32)

    train, validation, test = data.pipelines(loaded, featurize, batch_size=16, seed=0, sequence_length=32)
    for ids, batch_labels in train.take(3):
        assert ids.dtype == tf.int32 and ids.shape[0] <= 16 and ids.shape[1] <= 10  # trimmed from 32
        assert int(tf.reduce_min(tf.reduce_sum(tf.cast(ids != 0, tf.int32), axis=1))) >= 4
        assert batch_labels.dtype == tf.int32
    ordered = np.concatenate([batch_labels.numpy() for _, batch_labels in test])
    np.testing.assert_array_equal(ordered, loaded.test[1])
    assert sum(int(ids.shape[0]) for ids, _ in train) == len(loaded.train[1])


def test_real_sst2_and_sms_spam_load(real_data_dir):
    sst2 = data.load("sst2", data_dir=str(real_data_dir))
    assert sst2.sizes()["train"] + sst2.sizes()["validation"] == 67349 and sst2.sizes()["test"] == 872
    assert np.bincount(sst2.test[1]).tolist() == [428, 444] and not sst2.skipped
    sms = data.load("sms_spam", data_dir=str(real_data_dir))
    assert sum(sms.sizes().values()) == 5574 and not sms.skipped
    all_labels = np.concatenate([sms.train[1], sms.validation[1], sms.test[1]])
    assert np.bincount(all_labels).tolist() == [4827, 747]
