"""The contract every model keeps (SPEC §4).

``__init__`` only stores keyword hyperparameters; ``fit(data)`` validates them, learns, returns
self; ``predict`` gives ratings clipped to the scale, with a flag where it fell back; and
``recommend`` gives the top items with their scores. Learned attributes end in ``_``.

Fallback (explicit, as LensKit composes it): a pair whose user or movie the model never saw is
predicted by the damped bias baseline behind every model — μ + b_i for an unknown user, μ + b_u
for an unknown movie, μ when both are unknown — and flagged ``fallback=True``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Self

import numpy as np

from recsys.data.interactions import Interactions, check_rows, gather
from recsys.errors import ConfigError, NotFittedError, UnknownUserError
from recsys.features.bias import Biases
from recsys.models.best import best_columns

if TYPE_CHECKING:
    from recsys.data.dataset import Dataset

FALLBACK_DAMPING = 5.0


@dataclass(frozen=True)
class Predictions:
    """Predicted ratings (float32, on the scale) and where the fallback gave them."""

    rating: np.ndarray
    fallback: np.ndarray


@dataclass(frozen=True)
class UserRatings:
    """One user given by their ratings (item indices of the model) instead of a training index:
    a new user, or a known one with ratings the model did not train on."""

    items: np.ndarray  # int64, unique
    ratings: np.ndarray  # float32
    timestamps: np.ndarray  # int64

    def __post_init__(self) -> None:
        if not len(self.items) == len(self.ratings) == len(self.timestamps):
            raise ConfigError("items, ratings and timestamps must have the same length")
        if len(np.unique(self.items)) != len(self.items):
            raise ConfigError("a user rates each movie at most once")


@dataclass(frozen=True)
class FoldedUser:
    """A user folded into a fitted model (`Recommender.fold_in`): predicted ratings and a ranked
    list from their ratings alone, no refitting. ``state`` is what the model derived from them
    (a factor vector, a history with the user added, …)."""

    model: Recommender
    ratings: UserRatings
    state: object

    def predict(self, items: np.ndarray) -> np.ndarray:
        """Predicted ratings (float32, on the scale) of item indices."""
        items = np.asarray(items, np.int64)
        if len(items) == 0:
            return np.zeros(0, np.float32)
        rating = self.model._fold_predict(self, items)
        return self.model.scale_.clip(rating).astype(np.float32)

    def scores(self, items: np.ndarray) -> np.ndarray:
        """Ranking scores (higher is better, float32) of item indices."""
        return np.asarray(self.model._fold_score(self, np.asarray(items, np.int64)), np.float32)

    def recommend(
        self,
        n: int = 10,
        *,
        offset: int = 0,
        candidates: np.ndarray | None = None,
        exclude_seen: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` item indices after ``offset``, with their scores; what the user rated is
        left out unless ``exclude_seen`` is False."""
        seen = self.ratings.items if exclude_seen else np.zeros(0, np.int64)
        return self.model._fold_recommend(self, n, offset, candidates, seen)


def top_n(scores: np.ndarray, n: int, offset: int = 0) -> np.ndarray:
    """Positions of the best ``n`` scores after skipping ``offset``, best first; ties go to the
    smaller position, at the cut too, so pages never overlap (`best_columns`)."""
    end = min(offset + n, len(scores))
    if end <= offset:
        return np.zeros(0, np.int64)
    return best_columns(scores, end)[offset:]


class Recommender:
    """Base of every model: fitting bookkeeping, fallback, prediction and recommendation."""

    name: ClassVar[str]
    #: True when `_predict` can score pairs with unknown users or movies itself.
    handles_unknown: ClassVar[bool] = False
    #: Models that score by computing features per pair rank only this many candidates (the
    #: most-rated unseen movies, deeper when a page needs it), not the whole catalogue.
    rank_pool: ClassVar[int | None] = None
    #: True when a list and a predicted rating take microseconds (a matrix-vector product, a
    #: precomputed list), so a server answers in place rather than in a worker thread.
    answers_in_microseconds: ClassVar[bool] = False
    #: The same for `similarity` (one matrix-vector product over movie factors).
    similar_in_microseconds: ClassVar[bool] = False

    # -- hyperparameters -------------------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p for p in signature.parameters if p != "self"]

    def get_params(self) -> dict:
        return {p: getattr(self, p) for p in self.param_names()}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def check_params(self) -> Self:
        """Check the hyperparameters (`fit` does this first); raises `ConfigError` naming one."""
        try:
            self._validate()
        except ConfigError as error:
            raise ConfigError(f"{self.name}: {error}") from None
        except (TypeError, ValueError) as error:  # a comparison with a value of the wrong type
            message = f"{self.name}: a hyperparameter has the wrong type ({error})"
            raise ConfigError(message) from None
        return self

    def _validate(self) -> None:
        """Check hyperparameters, each by `_require`."""

    @staticmethod
    def _require(condition: bool, message: str) -> None:
        if not condition:
            raise ConfigError(message)

    def check_fitted(self) -> None:
        if not hasattr(self, "users_"):
            raise NotFittedError(f"{self.name} is not fitted: call fit() first")

    def check_state(self) -> None:
        """Learned arrays that fit together (a loaded model is checked so, before it answers
        anything); raises ValueError naming the first that does not."""
        if not hasattr(self, "users_"):
            raise ValueError("it holds no learned state")
        n_users, n_items = len(self.users_), len(self.items_)
        check_rows(self.seen_indptr_, self.seen_items_, n_users, n_items)
        if len(self.item_counts_) != n_items:
            raise ValueError("the rating counts do not fit the ids")
        self.fallback_.check(n_users, n_items)
        self._check_state(n_users, n_items)

    def _check_state(self, n_users: int, n_items: int) -> None:
        """A model's own arrays against the numbers of users and items (ValueError)."""

    def _check_history(self, n_users: int, n_items: int) -> None:
        """The training history the model keeps (``history_``) fits itself and the ids."""
        self.history_.check()
        if (self.history_.n_users, self.history_.n_items) != (n_users, n_items):
            raise ValueError("the kept history does not fit the ids")

    def _check_shapes(self, shapes: dict[str, tuple[int, ...]]) -> None:
        """Each named array of the model has its shape and only finite numbers."""
        for name, shape in shapes.items():
            values = getattr(self, name)
            if np.shape(values) != shape:
                raise ValueError(f"{name} is {np.shape(values)}, expected {shape}")
            if not np.isfinite(values).all():
                raise ValueError(f"{name} is not all finite numbers")

    # -- fitting ---------------------------------------------------------------------
    def fit(self, data: Dataset, history: Interactions | None = None) -> Self:
        """Learn from ``data`` (canonical ratings, catalogue and scale); returns self.

        ``history`` may pass the same ratings already indexed (and, for cross-validation
        folds, indexed in a larger vocabulary) to save indexing them again.
        """
        self.check_params()
        if len(data.ratings) == 0:
            raise ConfigError(f"{self.name}: cannot fit on an empty set of ratings")
        history = history or Interactions.from_ratings(data.ratings)
        self.users_ = history.users
        self.items_ = history.items
        self.scale_ = data.scale
        self.fallback_ = Biases.fit(
            history, user_damping=FALLBACK_DAMPING, item_damping=FALLBACK_DAMPING, iterations=10
        )
        self.seen_indptr_ = history.by_user.indptr
        self.seen_items_ = history.by_user.indices
        self.item_counts_ = history.by_item.counts
        self.last_timestamp_ = int(history.timestamp.max())
        self.trained_at_ = datetime.now(UTC).isoformat(timespec="seconds")
        self.data_fingerprint_ = data.fingerprint
        self._raters_by_item = None  # `_raters`, made again for the new history
        self._fit(history, data)
        return self

    def _fit(self, history: Interactions, data: Dataset) -> None:
        raise NotImplementedError

    # -- prediction ------------------------------------------------------------------
    def predict(self, user_ids, item_ids, timestamps=None) -> Predictions:
        """Predicted ratings for aligned arrays of raw user and movie ids.

        ``timestamps`` (seconds) say when each rating would be made; models with time features
        use them, and default to the time of the last training rating.
        """
        self.check_fitted()
        user_ids, item_ids = np.ravel(user_ids), np.ravel(item_ids)
        if len(user_ids) != len(item_ids) or (timestamps is not None
                                               and np.size(timestamps) != len(user_ids)):
            sizes = [len(user_ids), len(item_ids)] + ([] if timestamps is None else
                                                       [np.size(timestamps)])  # fmt: skip
            raise ValueError(f"user_ids, item_ids and timestamps must be as long as each other, "
                             f"got {' and '.join(map(str, sizes))}")  # fmt: skip
        stamps = None if timestamps is None else np.ravel(timestamps)
        user, item = self.users_.index(user_ids), self.items_.index(item_ids)
        return self.predict_indices(user, item, stamps)

    def predict_indices(self, user: np.ndarray, item: np.ndarray, timestamps=None) -> Predictions:
        """`predict` on vocabulary indices (-1 for unknown ids)."""
        if timestamps is None:
            timestamps = np.full(len(user), self.last_timestamp_, np.int64)
        timestamps = np.asarray(timestamps, np.int64)
        known = self.known(user, item)
        if self.handles_unknown or known.all():
            rating = self._predict(user, item, timestamps)
        else:
            rating = self.fallback_.predict(user, item)
            if known.any():
                rating[known] = self._predict(user[known], item[known], timestamps[known])
        return Predictions(self.scale_.clip(rating).astype(np.float32), ~known)

    def known(self, user: np.ndarray, item: np.ndarray) -> np.ndarray:
        """Pairs whose user and movie both have training ratings (a cross-validation fold keeps
        the whole vocabulary, so an index alone does not make an id known)."""
        u, i, indptr = np.maximum(user, 0), np.maximum(item, 0), self.seen_indptr_
        return (user >= 0) & (item >= 0) & (indptr[u + 1] > indptr[u]) & (self.item_counts_[i] > 0)

    def _predict(self, user: np.ndarray, item: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
        """Scores for index pairs (known ones unless `handles_unknown`)."""
        raise NotImplementedError

    # -- recommendation --------------------------------------------------------------
    def seen(self, user: int) -> np.ndarray:
        """Item indices the user rated in training (sorted)."""
        return self.seen_items_[self.seen_indptr_[user] : self.seen_indptr_[user + 1]]

    def score_items(self, user: int) -> np.ndarray:
        """Scores of every item for one known user (higher is better); float32."""
        items = np.arange(len(self.items_), dtype=np.int32)
        users = np.full(len(items), user, np.int32)
        times = np.full(len(items), self.last_timestamp_, np.int64)
        return self._predict(users, items, times).astype(np.float32)

    def score(self, user: int, items: np.ndarray) -> np.ndarray:
        """Scores (higher is better, float32) of the given item indices for one known user;
        a model with a `rank_pool` computes only those pairs."""
        if self.rank_pool is None:
            return self.score_items(user)[items]
        items = np.asarray(items, np.int32)
        users = np.full(len(items), user, np.int32)
        times = np.full(len(items), self.last_timestamp_, np.int64)
        return self._predict(users, items, times).astype(np.float32)

    def recommend_indices(
        self,
        user: int,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        candidates: np.ndarray | None = None,
        offset: int = 0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` item indices (after ``offset``) for a user index, with their scores.

        ``candidates`` is a boolean mask over items restricting the choice (filters).
        """
        allowed = np.ones(len(self.items_), bool) if candidates is None else candidates.copy()
        if exclude_seen:
            allowed[self.seen(user)] = False
        positions = np.flatnonzero(allowed)
        pool = self._pool(positions, offset + n)
        if len(pool) < len(positions):
            positions = pool
            scores = np.asarray(self.score(user, positions), np.float32)
        else:
            scores = self.score_items(user)[positions]
        best = top_n(scores, n, offset)
        return positions[best], scores[best]

    def recommend_rated(
        self,
        user: int,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        candidates: np.ndarray | None = None,
        offset: int = 0,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`recommend_indices` with each movie's predicted rating beside its score: what a
        served list shows. A model that ranks ahead of time keeps the ratings with its lists."""
        items, scores = self.recommend_indices(
            user, n, exclude_seen=exclude_seen, candidates=candidates, offset=offset
        )
        users = np.full(len(items), user, np.int64)
        return items, scores, self.predict_indices(users, items).rating

    def recommend(
        self, user_id, n: int = 10, *, exclude_seen: bool = True, items=None, offset: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` raw movie ids for a raw user id, with scores, best first.

        ``items`` restricts the choice to those raw ids; ``exclude_seen`` leaves out what the
        user rated in training. An unknown user raises `UnknownUserError`.
        """
        self.check_fitted()
        if not (isinstance(n, int | np.integer) and isinstance(offset, int | np.integer)):
            raise TypeError(f"n and offset must be integers, got {n!r} and {offset!r}")
        if n < 1 or offset < 0:
            raise ValueError(f"n must be >= 1 and offset >= 0, got {n} and {offset}")
        user = self.users_.find(user_id)
        if user is None:
            raise UnknownUserError(user_id)
        candidates = None
        if items is not None:
            candidates = np.zeros(len(self.items_), bool)
            index = self.items_.index(np.asarray(items))
            candidates[index[index >= 0]] = True
        best, scores = self.recommend_indices(
            user, n, exclude_seen=exclude_seen, candidates=candidates, offset=offset
        )
        return self.items_.to_ids(best), scores

    def similarity(self, item: int) -> np.ndarray:
        """Every item's similarity to ``item`` (float32, higher is more alike; ``item`` itself
        included). Default: the cosine of who rated them, co-rating counts over the square
        root of both rating counts; models with movie factors compare those instead."""
        self.check_fitted()
        indptr, users = self._raters()
        raters = users[indptr[item] : indptr[item + 1]]
        items = self.seen_items_[gather(self.seen_indptr_, raters)]
        common = np.bincount(items, minlength=len(self.items_))
        counts = np.asarray(self.item_counts_, np.float64)
        return (common / np.sqrt(np.maximum(counts * counts[item], 1.0))).astype(np.float32)

    def _raters(self) -> tuple[np.ndarray, np.ndarray]:
        """Who rated each item: the seen items as CSR by item (indptr, users), made on first
        use and kept (4 bytes a rating), so a movie's raters are a slice, not a scan."""
        raters = getattr(self, "_raters_by_item", None)
        if raters is None:
            order = np.argsort(self.seen_items_, kind="stable")
            n_users = len(self.seen_indptr_) - 1
            rows = np.repeat(np.arange(n_users, dtype=np.int32), np.diff(self.seen_indptr_))
            indptr = np.zeros(len(self.items_) + 1, np.int64)
            np.cumsum(self.item_counts_, out=indptr[1:])
            raters = self._raters_by_item = (indptr, rows[order])
        return raters

    # -- fold-in -----------------------------------------------------------------------
    def fold_in(self, ratings: UserRatings) -> FoldedUser:
        """The model's view of a user given by ``ratings`` (item indices): a user it never saw,
        or a known one whose ratings changed. Nothing is refitted; each model derives what it
        needs from the ratings (`_fold`) and answers with `FoldedUser`."""
        self.check_fitted()
        return FoldedUser(self, ratings, self._fold(ratings))

    def _fold(self, ratings: UserRatings) -> object:
        """Default: the user's damped bias against the fallback baseline."""
        return self.fallback_.user_bias_of(ratings.items, ratings.ratings, FALLBACK_DAMPING)

    def _fold_predict(self, folded: FoldedUser, items: np.ndarray) -> np.ndarray:
        """Default: the fallback baseline with the folded user's bias."""
        return self.fallback_.global_mean + folded.state + self.fallback_.item_bias[items]

    def _fold_score(self, folded: FoldedUser, items: np.ndarray) -> np.ndarray:
        """Default: rating models rank by predicted rating."""
        return self._fold_predict(folded, items)

    def _fold_recommend(self, folded, n, offset, candidates, seen) -> tuple[np.ndarray, np.ndarray]:
        """Default: score the allowed items (a `rank_pool` model only its most-rated ones)."""
        allowed = np.ones(len(self.items_), bool) if candidates is None else candidates.copy()
        allowed[seen] = False
        positions = self._pool(np.flatnonzero(allowed), offset + n)
        scores = folded.scores(positions)
        best = top_n(scores, n, offset)
        return positions[best], scores[best]

    def _pool(self, positions: np.ndarray, needed: int) -> np.ndarray:
        """The items a model with a `rank_pool` scores: the most-rated of ``positions``."""
        if self.rank_pool is None or len(positions) <= max(self.rank_pool, needed):
            return positions
        by_count = np.lexsort((positions, -self.item_counts_[positions]))
        return np.sort(positions[by_count[: max(self.rank_pool, needed)]])

    # -- persistence -----------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model to a folder: model.json, arrays.npz, and sub-models."""
        from recsys.models.persistence import save_model

        return save_model(self, Path(path))
