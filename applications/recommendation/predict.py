"""``keras-applied predict recommendation --model PATH --user ID`` / ``--similar-to ITEM``.

- ``--user ID``: the top-N items for a user that the user has not rated yet. A rating model
  ranks by predicted rating; a retrieval model by the similarity of the user's query embedding
  (from their latest items) with every item's embedding. An unknown user gets the most popular
  items and a message saying so.
- ``--similar-to ITEM``: "more like this": the items whose embeddings (a rating model's item
  factors, a retrieval model's candidate-tower outputs) are most cosine-similar to the item's.
"""

from __future__ import annotations

import json
import sys
import zipfile
from collections.abc import Sequence

import numpy as np

from applications.recommendation import data
from common import cli, saving
from common.errors import DataError, ModelFileError, UserInputError

DOMAIN = "recommendation"
EXIT_STATUS = (
    "Exit status: 0 when the list was printed (an unknown --user gets the most popular items, and "
    "says so); 1 when the model, its catalogue or the --similar-to item cannot be used, or no item "
    "passes --min-ratings (one line on stderr says why); 2 for a bad flag; 130 when interrupted."
)


def load_catalogue(model_path: str) -> data.Catalogue:
    """The catalogue saved beside the model; a damaged one is a :class:`ModelFileError`."""
    path = data.catalogue_path(model_path)
    try:
        return data.Catalogue.load(path)
    except UserInputError:
        raise
    except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as error:  # numpy's errors for a bad .npz
        reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise ModelFileError(f"The catalogue beside the model, {str(path)!r}, cannot be read ({reason}); expected the "
                             "model.catalogue.npz a recommendation run writes. Re-run training to write it.") from error


class Recommender:
    """A saved recommendation model with its catalogue, ready to answer queries."""

    def __init__(self, model_path: str) -> None:
        from applications.recommendation import models  # registers the custom layers before loading

        self._models = models
        self.model, self.metadata = saving.load_model(model_path, domain=DOMAIN)
        self.catalogue = load_catalogue(model_path)
        self.task = self.metadata.get("task", "rating")
        self._user_index = {str(u): j for j, u in enumerate(self.catalogue.users)}
        self._item_index = {str(i): j for j, i in enumerate(self.catalogue.items)}
        self._item_vectors = None

    @property
    def num_items(self) -> int:
        return len(self.catalogue.items)

    def _entry(self, item: int, score: float) -> dict:
        return {"item": str(self.catalogue.items[item]), "title": str(self.catalogue.titles[item]),
                "genres": str(self.catalogue.genres[item]), "score": float(score)}

    def popular(self, top_n: int, exclude: np.ndarray | None = None) -> list[dict]:
        order = np.argsort(-self.catalogue.popularity, kind="stable")
        if exclude is not None and len(exclude):
            order = order[~np.isin(order, exclude)]
        return [self._entry(i, self.catalogue.popularity[i]) for i in order[:top_n]]

    def recommend(self, user_id: str, top_n: int = 10) -> dict:
        """Top-N unseen items for ``user_id``: {"user", "known", "message", "items": [...]}."""
        user = self._user_index.get(str(user_id).strip())
        if user is None:
            return {"user": str(user_id), "known": False, "items": self.popular(top_n),
                    "message": f"User {user_id!r} is not in the training data; recommending the {top_n} most popular items instead."}
        seen = self.catalogue.seen(user)
        scores = self._user_scores(user)
        scores[seen] = -np.inf
        order = np.argsort(-scores, kind="stable")[:top_n]
        order = order[np.isfinite(scores[order])]
        unit = "predicted rating" if self.task == "rating" else "similarity"
        shown = scores
        if self.task == "rating":  # ranked by the raw score; shown as a rating on the scale
            shown = np.clip(scores, *self.metadata.get("rating_scale", (-np.inf, np.inf)))
        return {"user": str(user_id), "known": True, "items": [self._entry(i, shown[i]) for i in order],
                "message": f"Top {len(order)} items for user {user_id} by {unit}, excluding the {len(seen)} they rated."}

    def _user_scores(self, user: int) -> np.ndarray:
        if self.task == "rating":
            inputs = {"user": np.full(self.num_items, user, np.int32), "item": np.arange(self.num_items, dtype=np.int32),
                      "session": np.zeros(self.num_items, np.int32)}  # session 0: a new session, no session bias
            return np.asarray(self.model.predict(inputs, batch_size=8192, verbose=0), np.float64).reshape(-1)
        query_tower = self._models.find_layer(self.model, "query_tower")
        history = self.catalogue.histories[user : user + 1]
        length = query_tower.input["history"].shape[1]
        history = np.pad(history, ((0, 0), (0, max(length - history.shape[1], 0))))[:, :length]
        query = np.asarray(query_tower.predict({"user": np.array([user], np.int32), "history": history.astype(np.int32)}, verbose=0))
        return (self.item_vectors() @ query[0]).astype(np.float64)

    def item_vectors(self) -> np.ndarray:
        if self._item_vectors is None:
            self._item_vectors = self._models.item_embeddings(self.model, self.num_items)
        return self._item_vectors

    def similar(self, item_id: str, top_n: int = 10, min_ratings: int = 5) -> dict:
        """The ``top_n`` items most cosine-similar to ``item_id`` in the model's embedding space,
        among items with at least ``min_ratings`` ratings (a rarely rated item's vector is mostly
        its random start, so its similarities are noise)."""
        item = self._item_index.get(str(item_id).strip())
        if item is None:
            close = [str(i) for i in self.catalogue.items[:5]]
            raise DataError(f"Item {item_id!r} is not in the model's catalogue of {self.num_items} items (ids like {close}).")
        vectors = self.item_vectors()
        norms = np.linalg.norm(vectors, axis=1)
        similarity = vectors @ vectors[item] / np.maximum(norms * norms[item], 1e-12)
        similarity[item] = -np.inf
        similarity[self.catalogue.popularity < min_ratings] = -np.inf
        order = np.argsort(-similarity, kind="stable")[:top_n]
        order = order[np.isfinite(similarity[order])]
        return {"item": str(item_id), "title": str(self.catalogue.titles[item]),
                "items": [self._entry(i, similarity[i]) for i in order],
                "message": f"Items most similar to {self.catalogue.label(item)} (cosine similarity of embeddings, "
                           f"among items with at least {min_ratings} ratings)."}


def _print(result: dict) -> None:
    print(result["message"])
    for rank, entry in enumerate(result["items"], start=1):
        title = entry["title"] or f"item {entry['item']}"
        genres = f"  ({entry['genres'].replace('|', ', ')})" if entry["genres"] else ""
        print(f"{rank:>3}. {title} [{entry['item']}]  {entry['score']:.3f}{genres}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.ArgumentParser(
        prog="keras-applied predict recommendation",
        description="Recommend items for a user, or items like an item, with a saved recommendation model.",
        epilog=EXIT_STATUS,
    )
    parser.add_argument("--model", required=True, help="A model.keras written by a recommendation run (in its workdir); "
                        "the catalogue file model.catalogue.npz must sit beside it.")
    query = parser.add_mutually_exclusive_group(required=True)
    query.add_argument("--user", help="User id (as in the ratings file): recommend items this user has not rated.")
    query.add_argument("--similar-to", dest="similar_to", help="Item id (as in the ratings file): items most like it.")
    parser.add_argument("--top-n", type=int, default=10, help="How many items to list.")
    parser.add_argument("--min-ratings", type=int, default=5,
                        help="--similar-to: only list items with at least this many ratings (rare items' vectors are noise).")
    parser.add_argument("--json", action="store_true", help="Print the result as JSON instead of text.")
    args = parser.parse_args(argv)
    if args.top_n < 1:
        parser.error(f"--top-n must be >= 1; received {args.top_n}.")
    if args.min_ratings < 0:
        parser.error(f"--min-ratings must be >= 0; received {args.min_ratings}.")
    for flag, value in (("--user", args.user), ("--similar-to", args.similar_to)):
        if value is not None and not value.strip():
            parser.error(f"{flag} must be a non-empty id; received {value!r}.")
    try:
        recommender = Recommender(args.model)
        if args.user is not None:
            result = recommender.recommend(args.user, args.top_n)
        else:
            result = recommender.similar(args.similar_to, args.top_n, args.min_ratings)
            if not result["items"]:
                most = int(recommender.catalogue.popularity.max()) if recommender.num_items else 0
                raise DataError(f"No item but {args.similar_to!r} has at least --min-ratings {args.min_ratings} ratings "
                                f"(the most rated item has {most}); lower --min-ratings.")
    except UserInputError as error:
        print(f"keras-applied predict recommendation: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("keras-applied predict recommendation: interrupted.", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
