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
# # Recommendation: rating prediction and two-tower retrieval on MovieLens
#
# This tutorial trains both recommendation examples of keras-applied and reads what they wrote.
# Everything here calls the package (`applications.recommendation`), so the notebook and the
# command `keras-applied run recommendation` are the same code.
#
# You will see:
# 1. how ratings are found, cleaned (bad rows skipped and counted) and split;
# 2. the baselines every model is compared with: the global mean and user + item biases;
# 3. rating prediction: biased matrix factorisation and a NeuMF-style network learning the
#    residual of a time-aware bias baseline, blended on validation;
# 4. retrieval: a two-tower model trained with an in-batch softmax, ranking the whole catalogue;
# 5. recommendations for a user and "more like this" for a movie from the saved models.
#
# The preset comes from `KERAS_APPLIED_NOTEBOOK_PRESET` (`quick` unless set; the tests use
# `smoke`). Point `KERAS_APPLIED_DATA_DIR` at a folder holding MovieLens `ml-latest-small`
# (`ratings.csv`, `movies.csv`), or be online for TFDS.

# %%
import os

import numpy as np
from IPython.display import Image, display

from applications.recommendation import baselines, data, predict, train
from applications.recommendation.config import RecommendationConfig

PRESET = os.environ.get("KERAS_APPLIED_NOTEBOOK_PRESET", "quick")
config = RecommendationConfig.from_preset(PRESET)
print(config.command("recommendation"))

# %% [markdown]
# ## 1. The data
#
# `data.load` resolves the dataset in the order every domain uses: a local folder
# (`--data-dir` or `$KERAS_APPLIED_DATA_DIR`), then TFDS online. Ratings outside the declared
# scale, non-numeric ids and duplicate (user, item) rows are skipped and counted; users and items
# are re-indexed from 0, with their raw ids, titles and genres kept.

# %%
interactions = data.load(config.dataset, data_dir=config.data_dir, rating_scale=config.rating_scale,
                         max_ratings=config.max_ratings, seed=config.seed)
print(f"{interactions.name} from the {interactions.source} source: {len(interactions):,} ratings by "
      f"{interactions.num_users:,} users of {interactions.num_items:,} items; skipped: {dict(interactions.skipped.counts)}")
print("ratings per user: median", int(np.median(np.bincount(interactions.user))),
      "| rating values:", dict(zip(*np.unique(interactions.rating, return_counts=True))))
print("first item:", interactions.item_label(0), interactions.genres[0])

# %% [markdown]
# Two splits: a random 80/10/10 of the ratings (rating prediction), and a temporal
# leave-last-n-out per user (retrieval: each user's last `holdout` ratings are test, the
# `holdout` before them validation), where no user's future rating is in training.

# %%
random_split = data.make_split(interactions, "random", seed=config.seed)
temporal_split = data.make_split(interactions, "temporal", seed=config.seed, holdout=config.holdout)
print("random:", random_split.sizes(), "| temporal:", temporal_split.sizes(), dict(temporal_split.notes.counts))

# %% [markdown]
# ## 2. Baselines
#
# The user + item bias model `r = mu + b_u + b_i` is fitted by alternating exact ridge updates,
# its regularisation chosen on validation. It is the bar a rating model must clear.

# %%
train_part = interactions.subset(random_split.train)
validation_part = interactions.subset(random_split.validation)
bias_model = baselines.select_biases(train_part, validation_part, num_users=interactions.num_users,
                                     num_items=interactions.num_items, grid=config.bias_l2,
                                     rating_scale=interactions.rating_scale)
test_part = interactions.subset(random_split.test)
predicted = bias_model.predict(test_part["user"], test_part["item"], rating_scale=interactions.rating_scale)
print("global mean test RMSE:", round(float(np.sqrt(np.mean((test_part["rating"] - train_part["rating"].mean()) ** 2))), 4))
print("user+item bias test RMSE:", round(float(np.sqrt(np.mean((test_part["rating"] - predicted) ** 2))), 4),
      "with", bias_model.regularization)

# %% [markdown]
# ## 3. Rating prediction
#
# `train.train_and_evaluate` is the one entry point the command line, this notebook and the
# tests share. With `--task rating` it adds a per-session bias to the baseline (a user's
# ratings a few hours apart share a mood), trains biased MF and NeuMF on the residual, blends
# them with a weight fitted on validation, and writes `results/recommendation/<dataset>/<preset>-rating/`.

# %%
rating_metrics = train.train_and_evaluate(config)
rating_metrics

# %%
rating_dir = rating_metrics["results_dir"]
for name in ("rating_error_distribution", "item_embeddings"):
    display(Image(filename=os.path.join(rating_dir, "plots", f"{name}.png")))
print(open(os.path.join(rating_dir, "model_comparison.csv")).read())

# %% [markdown]
# ## 4. Retrieval
#
# The two-tower model embeds a user from the items they rated last and an item from its id,
# genres, title words and decade; it is trained with an in-batch softmax (every other item of
# the batch is a negative, corrected for how often popular items show up), then ranks the whole
# catalogue for every test user, minus what they already rated. Popularity is the baseline.

# %%
retrieval_metrics = train.train_and_evaluate(config.replace(task="retrieval"))
retrieval_metrics

# %%
retrieval_dir = retrieval_metrics["results_dir"]
for name in ("recall_at_k", "item_embeddings"):
    display(Image(filename=os.path.join(retrieval_dir, "plots", f"{name}.png")))

# %% [markdown]
# ## 5. Recommend with the saved models
#
# `predict.Recommender` loads a saved model with its catalogue (ids, titles, what each user has
# rated). A known user gets unseen items; an unknown user gets the most popular items and a
# message; `similar` lists the items nearest in embedding space.

# %%
recommender = predict.Recommender(retrieval_metrics["model_path"])
user = str(interactions.users[0])
for result in (recommender.recommend(user, top_n=5), recommender.recommend("not-a-user", top_n=3),
               recommender.similar(str(interactions.items[0]), top_n=5, min_ratings=1)):
    print(result["message"])
    for entry in result["items"]:
        print(f"   {entry['title'] or entry['item']}  ({entry['score']:.3f})")

# %% [markdown]
# ## Where to go next
#
# - `keras-applied run recommendation --preset full` trains larger embeddings for longer;
#   `--task retrieval --split random` or `--task rating --split temporal` swap the splits.
# - `--dataset csv --ratings-file FILE` trains on your own (user, item, rating[, timestamp])
#   file; name its columns with `--user-column`, `--item-column` ...
# - `keras-applied predict recommendation --model PATH --user ID` and `--similar-to ITEM`.
# - `keras-applied benchmark recommendation` measures training examples/s and top-k queries/s.
