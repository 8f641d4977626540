"""`Recommendations`: the framework-free service object behind the HTTP API.

Lists, scores, predicted ratings, similar movies and fold-ins come from the model, through
the one contract every model keeps (`recsys.models.base.Recommender`); there is no other
path for any model. Everything else a request needs is an array built once at load time: the
history as CSR by user and by movie, popularity in order, and the catalogue as arrays and
lists. Methods are pure reads, safe to call from many threads at once. Raw ids come in and go
out; unknown ones raise `UnknownUserError` / `UnknownItemError`, unusable arguments
`ConfigError`.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recsys.data.interactions import gather
from recsys.data.schema import RatingScale
from recsys.errors import ConfigError, UnknownIdError, UnknownItemError, UnknownUserError
from recsys.features.closest.nearest import FEW_COMMON, MISSING_COST  # SPEC §3
from recsys.models.base import Recommender, UserRatings
from recsys.models.best import best_columns
from recsys.service.artifact import check_model_fits, load_artifact_arrays
from recsys.service.ids import IdIndex

if TYPE_CHECKING:
    from recsys.service.feedback import Feedback

log = logging.getLogger(__name__)

HISTORY_ORDERS = ("recent", "rating", "id")
# A folded-in user's unfiltered list is kept, this deep, until their stored ratings change
# (LRU, this many users): a page of it is then a slice, not a fold-in.
FOLDED_DEPTH = 100
FOLDED_USERS = 10_000


class UnknownGenreError(UnknownIdError):
    """A genre filter names a genre no movie of the catalogue has."""

    kind = "genre"

    def __init__(self, genre: str, known: list[str]):
        super().__init__(genre)
        self.args = (f"unknown genre {genre!r}; the genres are {', '.join(known)}",)


@dataclass(frozen=True)
class Ranked:
    """A ranked list of movies: item indices (into the model's items), scores, and whether it
    is the popular-movies fallback for a user the model does not know."""

    items: np.ndarray
    scores: np.ndarray
    fallback: bool = False
    total: int = 0  # how many movies passed the filters (for paging)
    predicted: np.ndarray | None = None  # predicted ratings of a user's list
    folded_in: bool = False  # ranked from the user's stored ratings, not the trained ones


@dataclass(frozen=True)
class Neighbours:
    """The users closest to a user, nearest first (raw ids), with distances and common counts;
    ``ratings`` holds their rating of the movie when the neighbours are a movie's raters."""

    user_ids: list
    distances: np.ndarray
    common: np.ndarray
    ratings: np.ndarray | None


@dataclass(frozen=True)
class History:
    """A user's ratings in the requested order (item indices); ``stored`` marks those that
    come from the rating store rather than the training data."""

    items: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray
    total: int
    stored: np.ndarray | None = None  # bool; None: not asked for


def top_n(scores: np.ndarray, n: int, offset: int, allowed: int) -> np.ndarray:
    """Positions of the best ``n`` scores after ``offset``, best first, among the ``allowed``
    finite ones (the rest are -inf); ties go to the smaller position, so pages never overlap."""
    end = min(offset + n, allowed)
    if end <= offset:
        return np.zeros(0, np.int64)
    return best_columns(scores, end)[offset:end]


class Recommendations:
    """Recommendations, similar movies, closest raters, popularity, predictions, the catalogue
    and the history of one trained model, from its artifact (`load_artifact`).

    With ``feedback`` (the stored ratings, set by the app and kept across model swaps), a user
    whose stored ratings the model has not learnt is folded in (`Recommender.fold_in`): their
    training ratings merged with the stored ones, the latest timestamp winning."""

    feedback: Feedback | None = None

    def __init__(
        self, meta: dict, arrays: dict[str, np.ndarray], model: Recommender, path=None
    ) -> None:
        self.meta = meta
        self.path = None if path is None else str(path)
        a = arrays
        self.users = IdIndex(a["user_ids"])
        self.items = IdIndex(a["item_ids"])
        self.movies = IdIndex(a["movie_ids"])
        scale = meta["scale"]
        self.scale = RatingScale(float(scale["low"]), float(scale["high"]), scale.get("step"))
        self._model = model
        self._folded: OrderedDict[tuple[str, int], Ranked] = OrderedDict()
        self._folded_lock = threading.Lock()
        self._history_indptr = a["history_indptr"]
        self._history_items = a["history_items"]
        self._history_ratings = a["history_ratings"]
        self._history_timestamps = a["history_timestamps"]
        self._raters_indptr = a["raters_indptr"]
        self._raters_users = a["raters_users"].astype(np.int64)
        self._raters_ratings = a["raters_ratings"]
        self.rating_count = a["item_rating_count"]
        self.rating_mean = a["item_rating_mean"]
        # Popular: most ratings first, then the higher mean rating, then the smaller index.
        n_items = len(self.items)
        self._popular = np.lexsort((np.arange(n_items), -self.rating_mean, -self.rating_count))
        self._popular = self._popular[self.rating_count[self._popular] > 0]
        # The catalogue, and each model item's row of it.
        titles = a["movie_titles"].tolist()
        has_title = a["movie_has_title"].tolist()
        self.movie_titles = [t if ok else None for t, ok in zip(titles, has_title, strict=True)]
        years = a["movie_years"].astype(np.int64)
        self.movie_years = [None if y < 0 else y for y in years.tolist()]
        self.genre_names = a["genre_names"].tolist()
        indptr, codes = a["movie_genre_indptr"], a["movie_genre_codes"]
        names = np.asarray(self.genre_names, dtype=object)
        self.movie_genres = [names[codes[lo:hi]].tolist() for lo, hi in pairwise(indptr.tolist())]
        self.item_movie = a["item_movie"]
        self._item_year = years[self.item_movie] if n_items else np.zeros(0, np.int64)
        movie_of_code = np.repeat(np.arange(len(self.movies)), np.diff(indptr))
        genre_movie = np.zeros((len(self.genre_names), len(self.movies)), bool)
        genre_movie[codes, movie_of_code] = True
        self._genre_items = np.ascontiguousarray(genre_movie[:, self.item_movie])
        self._genre_code = {g.casefold(): c for c, g in enumerate(self.genre_names)}
        self.item_title = [self.movie_titles[m] for m in self.item_movie.tolist()]
        self.item_genres = [self.movie_genres[m] for m in self.item_movie.tolist()]
        self.item_year = [self.movie_years[m] for m in self.item_movie.tolist()]

    # -- loading -------------------------------------------------------------------------
    @classmethod
    def load(cls, folder: str | Path) -> Recommendations:
        """Read an artifact folder (ArtifactError when it is missing, corrupt or incompatible)."""
        from recsys.models.persistence import load_model

        meta, arrays = load_artifact_arrays(folder)
        model = load_model(folder)
        check_model_fits(folder, model, arrays)
        return cls(meta, arrays, model, folder)

    def warm(self) -> None:
        """Run a fold-in once (a training user's first 20 ratings), so the kernels it uses are
        compiled (or read from the cache) before the first request, not during it."""
        if not len(self.users):
            return
        user = int(np.argmax(np.diff(self._history_indptr)))
        span = slice(self._history_indptr[user], self._history_indptr[user + 1])
        _, first = np.unique(self._history_items[span], return_index=True)  # each movie once
        rows = np.arange(span.start, span.stop)[np.sort(first)[:20]]
        ratings = UserRatings(self._history_items[rows].astype(np.int64),
                              self._history_ratings[rows], self._history_timestamps[rows])
        folded = self._model.fold_in(ratings)
        items, _ = folded.recommend(10)
        folded.predict(items)

    # -- lookups -------------------------------------------------------------------------
    def user_index(self, user_id: object) -> int:
        index = self.users.find(user_id)
        if index is None:
            raise UnknownUserError(user_id)
        return index

    def item_index(self, movie_id: object) -> int:
        index = self.items.find(movie_id)
        if index is None:
            raise UnknownItemError(movie_id)
        return index

    # -- stored ratings ------------------------------------------------------------------
    @property
    def feedback_seq(self) -> int:
        """The last stored change the model was trained on (`recsys train --feedback`)."""
        return int((self.meta.get("feedback") or {}).get("seq", 0))

    def user_key(self, user_id: object) -> str | None:
        """A user id as the store spells it (the data set's spelling, as text)."""
        key = self.users.parse(user_id)
        return None if key is None else str(key)

    def _stored(self, user_id: object) -> list:
        key = None if self.feedback is None else self.user_key(user_id)
        return [] if key is None else self.feedback.of(key, self.feedback_seq)

    def ratings_of(self, user_id: object) -> tuple[int | None, UserRatings | None]:
        """The user's index in the model (None: it never saw them) and, when stored ratings
        change what it learnt, their ratings merged with the training ones: per movie the
        latest timestamp wins (a stored one on a tie), and a deletion removes it. A user
        neither the model nor the store knows raises `UnknownUserError`."""
        return self._merge(user_id, self._stored(user_id))

    def _merge(self, user_id: object, stored: list) -> tuple[int | None, UserRatings | None]:
        """`ratings_of`, given the user's stored rows."""
        user = self.users.find(user_id)
        if not stored:
            if user is None:
                raise UnknownUserError(user_id)
            return user, None
        found = self.items.index([row.movie_id for row in stored])
        rows = [row for row, item in zip(stored, found.tolist(), strict=True) if item >= 0]
        span = slice(0, 0) if user is None else slice(*self._history_indptr[user : user + 2])
        items = np.r_[self._history_items[span], found[found >= 0]].astype(np.int64)
        nan = np.float32(np.nan)
        ratings = np.r_[self._history_ratings[span],
                        [nan if r.rating is None else r.rating for r in rows]]  # fmt: skip
        stamps = np.r_[self._history_timestamps[span], [r.timestamp for r in rows]]
        source = np.r_[np.zeros(span.stop - span.start), np.ones(len(rows))]
        order = np.lexsort((source, stamps, items))
        last = order[np.diff(items[order], append=-1) != 0]  # each movie's latest
        last = last[~np.isnan(ratings[last])]
        if user is None and len(last) == 0:
            raise UnknownUserError(user_id)
        merged = UserRatings(items[last], ratings[last].astype(np.float32),
                             stamps[last].astype(np.int64))  # fmt: skip
        return user, merged

    def seen(self, user: int) -> np.ndarray:
        return self._model.seen(user)

    def trained_timestamps(self, user_id: object, items: np.ndarray) -> np.ndarray:
        """When the user rated each of ``items`` in the training data (int64 seconds), -1 where
        they did not (or are not a training user)."""
        stamps = np.full(len(items), -1, np.int64)
        user = self.users.find(user_id)
        if user is None:
            return stamps
        span = slice(*self._history_indptr[user : user + 2])
        rated, when = self._history_items[span], self._history_timestamps[span]
        at = np.searchsorted(rated, items)  # a user's history is in movie order
        found = at < len(rated)
        found[found] = rated[at[found]] == items[found]
        stamps[found] = when[at[found]]
        return stamps

    def candidates(
        self,
        genres: list[str] | None = None,
        year_min: int | None = None,
        year_max: int | None = None,
    ) -> np.ndarray | None:
        """Mask over items: any of ``genres`` (case-insensitive) and released within the year
        range (movies of unknown year are out when a bound is given; an empty range keeps
        none); None for no filter. A genre no movie has raises `UnknownGenreError`."""
        mask = None
        if genres:
            unknown = [g for g in genres if g.casefold() not in self._genre_code]
            if unknown:
                raise UnknownGenreError(unknown[0], self.genre_names)
            codes = [self._genre_code[g.casefold()] for g in genres]
            mask = np.logical_or.reduce(self._genre_items[codes], axis=0)
        if year_min is not None or year_max is not None:
            year = self._item_year
            in_range = year >= (year_min if year_min is not None else 0)
            if year_max is not None:
                in_range &= year <= year_max
            mask = in_range if mask is None else mask & in_range
        return mask

    # -- scores --------------------------------------------------------------------------
    @property
    def answers_in_place(self) -> bool:
        """Whether answering is cheap enough to run on the event loop: the model's lists and
        predicted ratings take microseconds (a matrix-vector product, a precomputed list);
        models that compute features per movie answer in a worker thread."""
        return bool(self._model.answers_in_microseconds)

    @property
    def similar_in_place(self) -> bool:
        """The same for similar movies: the model compares factor vectors (one product)."""
        return bool(self._model.similar_in_microseconds)

    def _rank(self, scores: np.ndarray, n: int, offset: int, mask: np.ndarray | None) -> Ranked:
        if mask is not None:
            scores[~mask] = -np.inf
        allowed = int(np.count_nonzero(scores > -np.inf))
        best = top_n(scores, n, offset, allowed)
        return Ranked(best, scores[best], total=allowed)

    def recommend(
        self,
        user_id: object,
        n: int = 10,
        *,
        offset: int = 0,
        exclude_seen: bool = True,
        candidates: np.ndarray | None = None,
        fallback: str | None = None,
    ) -> Ranked:
        """The top ``n`` movies (after ``offset``) for a user, best first, with their scores.

        An unknown user raises `UnknownUserError`, or with ``fallback="popular"`` gets the
        popular movies, flagged as a fallback.
        """
        _check_page(n, offset)
        stored = self._stored(user_id)
        try:
            user, merged = self._merge(user_id, stored)
        except UnknownUserError:
            if fallback == "popular":
                popular = self.popular(n, offset=offset, candidates=candidates)
                return Ranked(popular.items, popular.scores, True, popular.total)
            raise
        if merged is not None:
            if candidates is None and exclude_seen and offset + n <= FOLDED_DEPTH:
                version = (self.user_key(user_id), max(row.seq for row in stored))
                page = self._folded_page(version, merged)
                end = offset + n
                return Ranked(page.items[offset:end], page.scores[offset:end], total=page.total,
                              predicted=page.predicted[offset:end], folded_in=True)  # fmt: skip
            return self._recommend_folded(merged, n, offset, exclude_seen, candidates)
        return self._rank_by_model(user, n, offset, exclude_seen, candidates)

    def _recommend_folded(
        self, merged: UserRatings, n: int, offset: int, exclude_seen: bool, candidates
    ) -> Ranked:
        """A page for a user folded in from their merged ratings."""
        folded = self._model.fold_in(merged)
        items, scores = folded.recommend(
            n, offset=offset, candidates=candidates, exclude_seen=exclude_seen
        )
        allowed = len(self.items) if candidates is None else int(np.count_nonzero(candidates))
        if exclude_seen:
            seen = merged.items if candidates is None else merged.items[candidates[merged.items]]
            allowed -= len(seen)
        items = np.asarray(items, np.int64)
        return Ranked(items, np.asarray(scores, np.float32), total=allowed,
                      predicted=folded.predict(items), folded_in=True)  # fmt: skip

    def _folded_page(self, version: tuple[str, int], merged: UserRatings) -> Ranked:
        """The first `FOLDED_DEPTH` of a folded-in user's unfiltered list, kept per user and
        last stored change (a new write has a new number, so it is never served stale)."""
        with self._folded_lock:
            page = self._folded.get(version)
            if page is not None:
                self._folded.move_to_end(version)
                return page
        page = self._recommend_folded(merged, FOLDED_DEPTH, 0, True, None)
        with self._folded_lock:
            self._folded[version] = page
            while len(self._folded) > FOLDED_USERS:
                self._folded.popitem(last=False)
        return page

    def _rank_by_model(
        self, user: int, n: int, offset: int, exclude_seen: bool, candidates: np.ndarray | None
    ) -> Ranked:
        """A ranking model's page with predicted ratings; ``total`` counts every movie it could
        rank for the user."""
        seen = self.seen(user) if exclude_seen else np.zeros(0, np.int64)
        if candidates is None:  # the common case: no mask to build
            total = len(self.items) - len(seen)
        else:
            total = int(np.count_nonzero(candidates)) - int(np.count_nonzero(candidates[seen]))
        if offset >= total:
            return Ranked(np.zeros(0, np.int64), np.zeros(0, np.float32), total=total)
        items, scores, ratings = self._model.recommend_rated(
            user, min(n, total - offset), exclude_seen=exclude_seen, candidates=candidates,
            offset=offset,
        )  # fmt: skip
        return Ranked(np.asarray(items, np.int64), np.asarray(scores, np.float32), total=total,
                      predicted=ratings)  # fmt: skip

    def similar(
        self,
        movie_id: object,
        n: int = 10,
        *,
        offset: int = 0,
        candidates: np.ndarray | None = None,
    ) -> Ranked:
        """Movies most like a movie, best first, with the model's similarity
        (`Recommender.similarity`: the cosine of movie factors, or of who rated them)."""
        _check_page(n, offset)
        item = self.item_index(movie_id)
        scores = np.array(self._model.similarity(item), np.float32)
        scores[item] = -np.inf
        return self._rank(scores, n, offset, candidates)

    def popular(
        self,
        n: int = 10,
        *,
        offset: int = 0,
        candidates: np.ndarray | None = None,
        exclude_user: object | None = None,
    ) -> Ranked:
        """The most-rated movies (ties: higher mean rating), scored by their rating count;
        ``exclude_user`` leaves out what that user rated, stored ratings included."""
        _check_page(n, offset)
        order = self._popular
        keep = None if candidates is None else candidates.copy()
        if exclude_user is not None:
            keep = np.ones(len(self.items), bool) if keep is None else keep
            user, merged = self.ratings_of(exclude_user)  # with their stored ratings
            keep[self.seen(user) if merged is None else merged.items] = False
        if keep is not None:
            order = order[keep[order]]
        page = order[offset : offset + n]
        return Ranked(page, self.rating_count[page].astype(np.float32), total=len(order))

    # -- users and movies ----------------------------------------------------------------
    def closest_raters(self, user_id: object, n: int = 10, movie_id: object = None) -> Neighbours:
        """The ``n`` users who rate most like a user, nearest first (SPEC §3 distance).

        Without ``movie_id``: over all the movies both rated, among users with one in common.
        With it: the raters of that movie, compared on the other movies (the seed's
        closest_1..4 for the pair), with their rating of it.
        """
        if n < 1:
            raise ConfigError(f"n must be >= 1, got {n}")
        user, items, mine, _ = self.rated(user_id)
        item = None
        if movie_id is not None:
            item = self.item_index(movie_id)
            other = items != item
            items, mine = items[other], mine[other]
        entries = gather(self._raters_indptr, items)
        raters = self._raters_users[entries]
        repeats = np.diff(self._raters_indptr)[items]
        difference = np.abs(self._raters_ratings[entries] - np.repeat(mine, repeats))
        n_users = len(self.users)
        common = np.bincount(raters, minlength=n_users)
        total = np.bincount(raters, weights=difference.astype(np.float64), minlength=n_users)
        if item is None:
            candidates = np.flatnonzero(common)
            their = None
        else:
            span = slice(self._raters_indptr[item], self._raters_indptr[item + 1])
            candidates, their = self._raters_users[span], self._raters_ratings[span]
        keep = candidates != (-1 if user is None else user)
        candidates = candidates[keep]
        c = common[candidates]
        s = total[candidates]
        distance = np.where(
            c >= FEW_COMMON, FEW_COMMON * s / np.maximum(c, 1), s + MISSING_COST * (FEW_COMMON - c)
        )
        order = np.lexsort((candidates, -c, distance))[:n]
        return Neighbours(
            self.users.to_ids(candidates[order]),
            distance[order].astype(np.float32),
            c[order].astype(np.int64),
            None if their is None else their[keep][order],
        )

    def history(
        self, user_id: object, n: int | None = None, *, offset: int = 0, order: str = "recent"
    ) -> History:
        """A user's ratings: most recent first ("recent"), best first ("rating"), or by
        descending movie id ("id", the MovieLens seed's order)."""
        if order not in HISTORY_ORDERS:
            raise ConfigError(f"unknown order {order!r}; choose from {', '.join(HISTORY_ORDERS)}")
        _, items, ratings, stamps = self.rated(user_id)
        movie_ids = self.items.ids[items]
        if order == "recent":
            ranked = np.lexsort((movie_ids, -stamps))
        elif order == "rating":
            ranked = np.lexsort((movie_ids, -stamps, -ratings))
        else:
            ranked = np.argsort(movie_ids, kind="stable")[::-1]
        end = len(ranked) if n is None else offset + n
        ranked = ranked[offset:end]
        stored = self._from_store(user_id, items[ranked], stamps[ranked])
        return History(items[ranked], ratings[ranked], stamps[ranked], len(items), stored)

    def _from_store(self, user_id: object, items: np.ndarray, stamps: np.ndarray) -> np.ndarray:
        """Which of a user's merged ratings are stored ones: the store wins a tie of
        timestamps (`ratings_of`), so a stored rating of the movie with the same timestamp."""
        rows = [row for row in self._stored(user_id) if row.rating is not None]
        if not rows:
            return np.zeros(len(items), bool)
        found = self.items.index([row.movie_id for row in rows])
        when = np.array([row.timestamp for row in rows], np.int64)[found >= 0]
        found = found[found >= 0]
        if len(found) == 0:
            return np.zeros(len(items), bool)
        order = np.argsort(found)
        found, when = found[order], when[order]
        at = np.searchsorted(found, items).clip(max=len(found) - 1)
        return (found[at] == items) & (when[at] == stamps)

    def rated(self, user_id: object):
        """A user's index (None: only stored ratings), and the items they rated, with ratings
        and timestamps: the training ones merged with the stored ones."""
        user, merged = self.ratings_of(user_id)
        if merged is not None:
            return user, merged.items, merged.ratings, merged.timestamps
        span = slice(self._history_indptr[user], self._history_indptr[user + 1])
        return (user, self._history_items[span], self._history_ratings[span],
                self._history_timestamps[span])  # fmt: skip

    def movie(self, movie_id: object) -> dict:
        """One movie of the catalogue with its rating statistics."""
        row = self.movies.find(movie_id)
        if row is None:
            raise UnknownItemError(movie_id)
        raw = self.movies.ids[row].item()
        item = self.items.find(raw)
        count = 0 if item is None else int(self.rating_count[item])
        mean = float(self.rating_mean[item]) if count else None
        return {
            "id": raw,
            "title": self.movie_titles[row],
            "year": self.movie_years[row],
            "genres": self.movie_genres[row],
            "ratings": count,
            "mean_rating": None if mean is None else round(mean, 4),
            "recommendable": item is not None,
        }

    # -- predicted ratings ---------------------------------------------------------------
    def predict_indices(self, user: np.ndarray, item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted ratings (float32, on the scale) for index pairs (-1: unknown) and the
        fallback flags: the model's (`Recommender.predict_indices`), where a pair with an
        unknown side gets the damped baseline, as every model does."""
        found = self._model.predict_indices(np.asarray(user, np.int64), np.asarray(item, np.int64))
        return found.rating, found.fallback

    def predict(self, user_ids: list, movie_ids: list) -> tuple[np.ndarray, np.ndarray]:
        """Predicted ratings and fallback flags for aligned lists of raw ids."""
        if len(user_ids) != len(movie_ids):
            raise ConfigError(f"{len(user_ids)} users but {len(movie_ids)} movies")
        items = self.items.index(movie_ids)
        rating, fallback = self.predict_indices(self.users.index(user_ids), items)
        if self.feedback is None or self.feedback.seq == 0:  # nothing was ever stored
            return rating, fallback
        pairs_of: dict = {}  # each user's positions in the batch, found in one pass
        for k, raw in enumerate(user_ids):
            if isinstance(raw, int | str) and items[k] >= 0:
                pairs_of.setdefault(raw, []).append(k)
        for raw, pairs in pairs_of.items():  # each folded user once
            stored = self._stored(raw)
            if not stored:
                continue
            try:
                _, merged = self._merge(raw, stored)
            except UnknownUserError:  # they rated only movies this model does not know
                continue
            if merged is not None:
                rating[pairs] = self._model.fold_in(merged).predict(items[pairs])
                fallback[pairs] = False
        return rating, fallback

    def predict_one(self, user_id: object, movie_id: object) -> tuple[float, bool]:
        """One predicted rating; an unknown user or movie raises."""
        self.ratings_of(user_id)  # an unknown user raises
        self.item_index(movie_id)
        rating, fallback = self.predict([user_id], [movie_id])
        return float(rating[0]), bool(fallback[0])

    def model_info(self) -> dict:
        m = self.meta
        return {
            "model": m.get("model"),
            "params": m.get("params", {}),
            "ranking": "model",
            "rating_model": m.get("rating_model", m.get("model")),
            "scorer": "model",
            "trained_at": m.get("trained_at"),
            "data": m.get("data", {}),
            "scale": m.get("scale", {}),
            "metrics": m.get("metrics", {}),
            "feedback": {
                "trained_to_seq": self.feedback_seq,
                "store": None if self.feedback is None else self.feedback.dialect,
                "stored_ratings": None if self.feedback is None else self.feedback.count(),
                "stored_seq": None if self.feedback is None else self.feedback.seq,
            },
            "recsys_version": m.get("recsys_version"),
            "artifact": None if self.path is None else Path(self.path).name,
            "users": len(self.users),
            "movies": len(self.items),
            "genres": self.genre_names,
        }


def _check_page(n: int, offset: int) -> None:
    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    if offset < 0:
        raise ConfigError(f"offset must be >= 0, got {offset}")


def load_artifact(folder: str | Path) -> Recommendations:
    """The service object of an artifact folder (ArtifactError when it cannot be used)."""
    return Recommendations.load(folder)
