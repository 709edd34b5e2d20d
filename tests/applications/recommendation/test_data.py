"""Recommendation data: readers, cleaning of bad rows, splits, sessions, histories, features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from applications.recommendation import data
from common.errors import DataError, DataNotFoundError


def frame(rows, columns=("user", "item", "rating", "timestamp")):
    return pd.DataFrame(rows, columns=list(columns)).astype(str)


def clean(rows, **kwargs):
    kwargs.setdefault("rating_scale", (0.5, 5.0))
    return data.from_frame(frame(rows), name="test", source="local", **kwargs)


def test_local_movielens_folder_loads_with_titles_and_genres(movielens_dir):
    interactions = data.load("movielens_latest_small", data_dir=str(movielens_dir))
    assert interactions.source == "local" and len(interactions) == 60 * 24
    assert (interactions.num_users, interactions.num_items) == (60, 90)
    assert interactions.items[0] == "1" and interactions.titles[0] == "Love love 0 (1950)"
    assert interactions.genres[0] == ["Comedy", "Romance"] and interactions.timestamp.dtype == np.int64
    assert interactions.rating.dtype == np.float32 and not interactions.skipped


def test_auto_without_any_source_says_what_to_provide(tmp_path):
    with pytest.raises(DataNotFoundError, match="(?s)ratings.csv.*unreachable.*u.data"):
        data.load("auto", data_dir=str(tmp_path))


def test_ratings_outside_the_scale_are_skipped_and_counted():
    interactions = clean([(1, 1, 4, 10), (1, 2, 7, 11), (2, 1, 0, 12), (2, 2, 3.5, 13)])
    assert len(interactions) == 2
    assert interactions.skipped.counts["rating outside the declared scale [0.5, 5]"] == 2
    assert interactions.skipped.examples["rating outside the declared scale [0.5, 5]"] == ["7, 0"]


def test_duplicate_pairs_keep_the_latest_rating():
    interactions = clean([(1, 1, 2.0, 300), (1, 1, 5.0, 100), (1, 1, 4.0, 200), (2, 1, 3.0, 50)])
    assert len(interactions) == 2 and interactions.skipped.counts["duplicate (user, item) row; kept the latest"] == 2
    assert interactions.rating[interactions.user == 0].tolist() == [2.0]  # timestamp 300 wins


def test_non_numeric_ids_and_ratings_are_skipped_where_ids_are_numeric():
    rows = [(1, 1, 4, 1), (2, 2, 3, 2), ("abc", 3, 4, 3), (3, "x7", 5, 4), (4, 4, "good", 5)] + [(u, u, 3, 9) for u in range(5, 40)]
    interactions = clean(rows)
    assert interactions.skipped.counts["non-numeric user id"] == 1
    assert interactions.skipped.counts["non-numeric item id"] == 1
    assert interactions.skipped.counts["missing or non-numeric rating"] == 1
    assert "'abc'" in interactions.skipped.examples["non-numeric user id"][0]


def test_string_ids_are_kept_when_a_file_uses_them():
    interactions = clean([("alice", "m1", 4, 1), ("bob", "m2", 3, 2), ("alice", "m2", 5, 3)])
    assert sorted(interactions.users) == ["alice", "bob"] and not interactions.skipped


def test_missing_columns_list_the_columns_found():
    with pytest.raises(DataError, match=r"expected a rating column.*Received columns: \['user', 'item', 'stars_given'\]"):
        data.from_frame(frame([(1, 1, 4)], ("user", "item", "stars_given")), name="t", source="local", rating_scale=(1, 5))
    with pytest.raises(DataError, match=r"expected column\(s\) \['score'\].*Received columns"):
        data.from_frame(frame([(1, 1, 4)], ("user", "item", "rating")), name="t", source="local", rating_scale=(1, 5), rating_column="score")


def test_a_file_with_no_usable_rows_is_an_error():
    with pytest.raises(DataError, match=r"none of its 2 rows is usable.*within \[1, 5\]"):
        data.from_frame(frame([(1, 1, 9, 1), (2, 2, 0, 1)]), name="t", source="local", rating_scale=(1, 5))


def test_empty_and_header_only_files_are_errors(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="is empty"):
        data.read_ratings_file(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("user,item,rating\n")
    with pytest.raises(DataError, match="has a header but no data rows"):
        data.read_ratings_file(header_only)


def test_csv_with_named_columns_and_a_headerless_u_data_file(tmp_path):
    path = tmp_path / "mine.tsv"
    path.write_text("customer\tproduct\tstars\twhen\n" + "".join(f"c{u}\tp{i}\t{(u + i) % 5 + 1}\t{u * 100 + i}\n" for u in range(4) for i in range(5)))
    interactions = data.load("csv", ratings_file=str(path), user_column="customer", item_column="product",
                             rating_column="stars", timestamp_column="when", rating_scale=(1, 5))
    assert (interactions.num_users, interactions.num_items, len(interactions)) == (4, 5, 20)
    u_data = tmp_path / "u.data"
    u_data.write_text("".join(f"{u}\t{i}\t{(u * i) % 5 + 1}\t{874965758 + u + i}\n" for u in range(1, 4) for i in range(1, 4)))
    interactions = data.load("csv", ratings_file=str(u_data), rating_scale=(1, 5))
    assert len(interactions) == 9 and interactions.timestamp is not None


def test_ml100k_folder_with_u_item_genres(tmp_path):
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_text("1\t1\t5\t881250949\n1\t2\t3\t881250950\n2\t1\t4\t881250951\n")
    flags = ["0"] * 19
    flags[1], flags[5] = "1", "1"  # Action, Comedy
    (folder / "u.item").write_bytes(("1|Toy Story (1995)|01-Jan-1995||http://x|" + "|".join(flags) + "\n"
                                     "2|GoldenEye (1995)|01-Jan-1995||http://y|" + "|".join(["0"] * 18 + ["1"]) + "\n").encode("latin-1"))
    interactions = data.load("movielens_100k", data_dir=str(tmp_path), rating_scale=(1, 5))
    assert interactions.titles == ["Toy Story (1995)", "GoldenEye (1995)"]
    assert interactions.genres == [["Action", "Comedy"], ["Western"]]


def test_temporal_split_never_puts_a_users_future_into_training(movielens_dir):
    interactions = data.load("movielens_latest_small", data_dir=str(movielens_dir))
    split = data.temporal_split(interactions, holdout=2)
    assert split.sizes() == {"train": 60 * 20, "validation": 120, "test": 120}
    time, user = interactions.timestamp, interactions.user
    for u in range(interactions.num_users):
        train_times = time[split.train][user[split.train] == u]
        validation_times = time[split.validation][user[split.validation] == u]
        test_times = time[split.test][user[split.test] == u]
        assert train_times.max() <= validation_times.min() <= validation_times.max() <= test_times.min()


def test_temporal_split_keeps_single_rating_users_in_training():
    rows = [(1, i, 4, 100 + i) for i in range(6)] + [(2, 1, 3, 50)] + [(3, 2, 2, 60), (3, 3, 5, 70)]
    interactions = clean(rows)
    split = data.make_split(interactions, "temporal", seed=0, holdout=1)
    assert split.sizes() == {"train": 7, "validation": 1, "test": 1}
    assert split.notes.counts["users with fewer than 3 ratings, kept in training only"] == 2
    with pytest.raises(DataError, match="needs a timestamp column"):
        data.temporal_split(data.from_frame(frame([(1, 1, 4)], ("user", "item", "rating")), name="t", source="local", rating_scale=(1, 5)), 1)


def test_a_split_that_leaves_no_test_ratings_is_an_error():
    with pytest.raises(DataError, match="left no validation ratings"):
        data.make_split(clean([(1, 1, 4, 1), (2, 2, 3, 2)]), "temporal", seed=0, holdout=1)


def test_random_split_is_seeded_and_complete(movielens_dir):
    interactions = data.load("movielens_latest_small", data_dir=str(movielens_dir))
    first, again = data.random_split(interactions, (0.8, 0.1, 0.1), 3), data.random_split(interactions, (0.8, 0.1, 0.1), 3)
    assert np.array_equal(first.test, again.test) and first.sizes() == {"train": 1152, "validation": 144, "test": 144}
    assert len(np.unique(np.r_[first.train, first.validation, first.test])) == len(interactions)


def test_sessions_split_on_gaps_and_only_look_back():
    user = np.array([0, 0, 0, 0, 1, 1])
    time = np.array([0, 100, 10_000, 10_050, 0, 20_000])
    assert data.sessions(user, time, gap_seconds=3600).tolist() == [0, 0, 1, 1, 2, 3]
    # Dropping the last rating changes no earlier session: the rule is causal.
    assert data.sessions(user[:3], time[:3], 3600).tolist() == [0, 0, 1]
    index, count = data.session_index(np.array([0, 0, 1, 1, 2, 3]), train_rows=np.array([0, 5]))
    assert index.tolist() == [1, 1, 0, 0, 0, 2] and count == 2


def test_histories_hold_only_earlier_items_most_recent_first():
    user = np.array([0, 0, 0, 1, 0])
    item = np.array([5, 6, 7, 8, 9])
    time = np.array([1, 2, 3, 1, 0])
    order, histories = data.history_matrix(user, item, time, length=2)
    assert order.tolist() == [4, 0, 1, 2, 3]
    assert histories.tolist() == [[0, 0], [10, 0], [6, 10], [7, 6], [0, 0]]  # item + 1, 0 = padding
    assert data.latest_histories(user, item, time, num_users=3, length=3).tolist() == [[8, 7, 6], [9, 0, 0], [0, 0, 0]]


def test_item_features_from_titles_and_genres(movielens_dir):
    interactions = data.load("movielens_latest_small", data_dir=str(movielens_dir))
    features = data.item_features(interactions, max_tokens=4)
    assert features.genre_names == ["Comedy", "Drama", "Romance", "Sci-Fi"]
    assert features.genres.shape == (90, 4) and features.genres[0].tolist() == [1, 0, 1, 0]
    assert features.title_tokens.shape == (90, 4) and features.title_tokens.dtype == np.int32
    assert data.tokenize_title("Toy Story (1995)") == ["toy", "story"]
    assert features.year_bucket_names[features.year_buckets[0]] == "1950s"


def test_pipelines_batch_features_and_targets():
    inputs = {"user": np.arange(10, dtype=np.int32), "item": np.arange(10, dtype=np.int32), "session": np.zeros(10, np.int32)}
    features, targets = next(iter(data.rating_pipeline(inputs, np.linspace(1, 5, 10), batch_size=4)))
    assert tuple(features["user"].shape) == (4,) and targets.dtype.name == "float32"
    retrieval = data.retrieval_pipeline({"user": np.arange(10), "history": np.zeros((10, 3), np.int32), "item": np.arange(10)},
                                        batch_size=4, shuffle=True)
    assert [int(b[0]["item"].shape[0]) for b in retrieval] == [4, 4]  # training drops the ragged remainder
    assert tuple(next(iter(retrieval))[0]["history"].shape) == (4, 3)


def test_tfds_movielens_path_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=40):
        interactions = data.load("movielens_latest_small", rating_scale=(-1e9, 1e9))
    assert interactions.source == "online" and len(interactions) + interactions.skipped.total() == 40


def test_real_movielens_latest_small(real_data_dir):
    interactions = data.load("movielens_latest_small", data_dir=str(real_data_dir))
    assert (len(interactions), interactions.num_users, interactions.num_items) == (100836, 610, 9724)
    assert not interactions.skipped and interactions.titles[0] == "Toy Story (1995)"
    split = data.make_split(interactions, "random", seed=0)
    assert split.sizes() == {"train": 80669, "validation": 10083, "test": 10084}
