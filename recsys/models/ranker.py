"""The two-stage ranker: candidates from several generators, ordered by gradient boosting.

1. **Candidates.** Each generator (EASE, implicit ALS, popularity, item co-occurrence) proposes
   its ``depth`` best unseen movies for a user; the ranker takes their union.
2. **Features** of every (user, candidate) pair: each generator's score and rank; the rating
   models' predicted ratings (matrix factorisation, baseline); the Netflix seed's closest
   raters and era mean; the movie's popularity, its trend and its age; the user's genre
   affinity and activity.
3. **Order.** A `HistGradientBoostingClassifier` gives each pair the chance that the user
   rates the movie ≥ ``relevant``. It learns from the training ratings themselves: each user's
   latest ``label_fraction`` (by time) is held out as labels, the generators and features come
   from the rest, and everything is then refitted on all the training ratings.

Lists for every known user are ranked once after fitting (``precompute`` deep), each movie with
its predicted rating, so a request is a lookup; filters, deeper pages and new ratings take the
live path, which ranks candidates drawn inside the filter. Predicted ratings come from the
rating model (``rating_model``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from recsys.data.interactions import Interactions
from recsys.data.schema import DAY
from recsys.features.activity import SECONDS_PER_YEAR
from recsys.features.builder import CLOSEST, DISTANCES, item_years
from recsys.features.era import ERAS, check_movie_eras, movie_eras
from recsys.features.pairs import genre_affinity, genre_matrix, unseen_closest, user_genre_totals
from recsys.models.base import Predictions, Recommender, UserRatings, top_n
from recsys.models.ranking import ItemScorer, rated_matrix
from recsys.models.trees import Forest, fittable

if TYPE_CHECKING:
    from recsys.data.dataset import Dataset

log = logging.getLogger(__name__)

GENERATORS = ("ease", "als", "popular", "item-cooc")
RATERS = ("mf", "baseline")
TREND_DAYS = 180
ERA_DEFAULT = 2.0  # the seed's era mean where a user has none
BLOCK = 256
LABEL_SPLITS = ("random", "latest")


@dataclass
class _Stage:
    """Everything features are read from: the history, the models fitted on it, and the
    statistics of users and movies (computed once, on first use)."""

    history: Interactions
    generators: dict[str, ItemScorer]
    raters: dict[str, Recommender]

    @cached_property
    def rated(self) -> sp.csr_matrix:
        h = self.history
        return rated_matrix(h.by_user.indptr, h.by_user.indices, h.n_items)

    def statistics(self, item_era: np.ndarray, item_genres: sp.csr_matrix) -> dict:
        if getattr(self, "_statistics", None) is None:
            h = self.history
            items = _item_statistics(h)
            users = _user_statistics(h.user, h.item, h.rating, h.n_users, items["item_count"],
                                     item_era, item_genres)  # fmt: skip
            self._statistics = items | users
        return self._statistics

    def rated_rows(self, users: np.ndarray) -> sp.csr_matrix:
        return self.rated[users]

    def scores(self, generator: ItemScorer, users: np.ndarray, rated) -> np.ndarray:
        return generator.score_users(users)

    def predict(self, name: str, user: np.ndarray, item: np.ndarray) -> np.ndarray:
        return self.raters[name].predict_indices(user, item).rating

    def statistics_row(self, user: np.ndarray) -> np.ndarray:
        """Where a user's statistics are in `statistics` (their index)."""
        return user

    def closest(self, user: np.ndarray, item: np.ndarray):
        return unseen_closest(self.history, user, item)


@dataclass
class _FoldedStage(_Stage):
    """The fitted stage seen by one user given by their ratings: their closest raters found
    from their ratings, the generators scoring their row, the rating models folding them in,
    and their statistics computed from their ratings alone."""

    ratings: UserRatings | None = None
    base: _Stage | None = None
    user: int = -1  # no user of the history

    @cached_property
    def row(self) -> sp.csr_matrix:
        items = np.sort(np.asarray(self.ratings.items, np.int32))
        return rated_matrix(np.array([0, len(items)]), items, self.history.n_items)

    def rated_rows(self, users):
        return self.row

    def scores(self, generator, users, rated):
        return generator.score_users(np.zeros(1, np.int64), rated=self.row)

    def predict(self, name, user, item):
        return self.raters[name].predict(item)

    def statistics(self, item_era, item_genres):
        if getattr(self, "_statistics", None) is None:
            live = self.base.statistics(item_era, item_genres)
            r = self.ratings
            zeros = np.zeros(len(r.items), np.int64)
            user = _user_statistics(zeros, r.items, r.ratings, 1, live["item_count"], item_era,
                                    item_genres)  # fmt: skip
            self._statistics = live | user
        return self._statistics

    def statistics_row(self, user):
        return np.zeros(len(user), np.int64)

    def closest(self, user, item):
        return unseen_closest(self.history, user, item, own=(self.ratings.items,
                                                             self.ratings.ratings))  # fmt: skip


def _item_statistics(history: Interactions) -> dict:
    """Per movie: ratings, mean, recent ratings and their share."""
    now = int(history.timestamp.max())
    count = np.bincount(history.item, minlength=history.n_items).astype(np.float64)
    total = np.bincount(history.item, history.rating, minlength=history.n_items)
    recent = history.timestamp >= now - TREND_DAYS * DAY
    recent_count = np.bincount(history.item[recent], minlength=history.n_items)
    return {
        "now": now,
        "item_count": count,
        "item_mean": np.divide(total, count, out=np.full(len(count), np.nan), where=count > 0),
        "item_recent": recent_count.astype(np.float64),
        "item_trend": recent_count / np.maximum(count, 1.0),
    }


def _user_statistics(user, item, rating, n_users, item_count, item_era, item_genres) -> dict:
    """Per user (of ratings given as aligned index arrays): ratings, mean, how mainstream
    their movies are, and their ratings per era and genre."""
    user_count = np.bincount(user, minlength=n_users).astype(np.float64)
    user_total = np.bincount(user, rating, minlength=n_users)
    mainstream = np.bincount(user, np.log1p(item_count)[item], n_users)
    era = item_era[item].astype(np.int64)
    dated = era >= 0
    key = user[dated].astype(np.int64) * len(ERAS) + era[dated]
    size = n_users * len(ERAS)
    genre_counts, genre_sums = user_genre_totals(user, item, rating, n_users, item_genres)
    return {
        "user_count": user_count,
        "user_mean": user_total / np.maximum(user_count, 1.0),
        "user_mainstream": mainstream / np.maximum(user_count, 1.0),
        "era_sum": np.bincount(key, rating[dated].astype(np.float64), size),
        "era_count": np.bincount(key, minlength=size).astype(np.float64),
        "genre_counts": genre_counts,
        "genre_sums": genre_sums,
    }


class Ranker(Recommender):
    """Candidates from ``generators``, features per pair, gradient-boosted order."""

    name = "ranker"

    def __init__(
        self,
        generators: tuple[str, ...] = GENERATORS,
        depth: int = 100,
        rating_model: str = "mf",
        label_fraction: float = 0.1,
        label_split: str = "random",
        label_rounds: int = 3,
        negative_fraction: float = 0.3,
        relevant: float = 4.0,
        max_iter: int = 300,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 200,
        l2_regularization: float = 10.0,
        ensemble: int = 3,
        precompute: int = 100,
        random_state: int = 0,
    ) -> None:
        self.generators = tuple(generators)
        self.depth = depth
        self.rating_model = rating_model
        self.label_fraction = label_fraction
        self.label_split = label_split
        self.label_rounds = label_rounds
        self.negative_fraction = negative_fraction
        self.relevant = relevant
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.ensemble = ensemble
        self.precompute = precompute
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------
    def _validate(self) -> None:
        from recsys.models.registry import MODELS

        unknown = [g for g in self.generators if g not in MODELS
                   or not issubclass(MODELS[g], ItemScorer)]  # fmt: skip
        self._require(self.generators and not unknown, f"generators: not ranking models {unknown}")
        self._require(self.rating_model in MODELS and self.rating_model != self.name,
                      f"rating_model {self.rating_model!r} is not a rating model")  # fmt: skip
        self._require(self.depth >= 1, "depth must be >= 1")
        self._require(0 < self.label_fraction < 1, "label_fraction must be in (0, 1)")
        self._require(self.label_split in LABEL_SPLITS,
                      f"label_split must be one of {', '.join(LABEL_SPLITS)}")  # fmt: skip
        self._require(self.label_rounds >= 1, "label_rounds must be >= 1")
        self._require(0 < self.negative_fraction <= 1, "negative_fraction must be in (0, 1]")
        self._require(self.max_iter >= 1, "max_iter must be >= 1")
        self._require(self.learning_rate > 0, "learning_rate must be > 0")
        self._require(self.ensemble >= 1, "ensemble must be >= 1")
        self._require(self.precompute >= 0, "precompute must be >= 0")

    def feature_names(self) -> list[str]:
        generated = [f"{g}_{kind}" for g in self.generators
                     for kind in ("score", "rank", "below_best", "above_mean")]  # fmt: skip
        return [
            *generated, *(f"{r}_rating" for r in RATERS), *CLOSEST, *DISTANCES, "era_mean",
            "item_count", "item_mean", "item_recent", "item_trend", "movie_age",
            "genre_share", "genre_rating", "user_count", "user_mean", "user_mainstream",
        ]  # fmt: skip

    def _fit(self, history: Interactions, data: Dataset) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.item_year_ = item_years(history.items, data.movies)
        self.item_era_ = movie_eras(self.item_year_)
        self.item_genres_ = genre_matrix(history.items, data.movies)
        features, targets = [], []
        rounds = self.label_rounds if self.label_split == "random" else 1
        for round_ in range(rounds):
            X, y, _ = self._labelled_pairs(data, history, round_)
            features.append(X)
            targets.append(y)
        X, y = np.concatenate(features), np.concatenate(targets)
        # Most candidates are negatives; a sample of them orders the pairs as well (dropping
        # negatives at random shifts every pair's odds alike) at a fraction of the cost. Each
        # of the ``ensemble`` classifiers sees its own sample and stopping split; their mean
        # log-odds (one forest) varies less with the seed than any one of them.
        forests = []
        for member in range(self.ensemble):
            seed = self.random_state + member
            keep = (y == 1) | (np.random.default_rng(seed).random(len(y)) < self.negative_fraction)
            log.info("ranker: %d labelled pairs, %d positive", int(keep.sum()), int(y.sum()))
            classifier = HistGradientBoostingClassifier(
                max_iter=self.max_iter, learning_rate=self.learning_rate,
                max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=self.min_samples_leaf,
                l2_regularization=self.l2_regularization, random_state=seed,
                early_stopping=True, n_iter_no_change=20, validation_fraction=0.1,
            ).fit(fittable(X[keep]), y[keep])  # fmt: skip
            forests.append(Forest.from_sklearn(classifier))
        self.forest_ = Forest.average(forests)
        self.feature_names_ = self.feature_names()
        final = self._stage(data, history)
        self.history_ = history
        self.generators_ = final.generators
        self.raters_ = final.raters
        self._precompute()

    def _labelled_pairs(self, data: Dataset, history: Interactions, round_: int):
        """One round of labels: hold a slice out, fit on the rest, describe the candidates of
        every user with a relevant held-out rating, and label those the user rated relevant.
        Returns the features, the labels and each pair's user (pairs grouped by user)."""
        held = self._label_mask(history, round_)
        early = self._stage(data, history.subset(~held))
        labels = history.subset(held)
        users = np.unique(labels.user[labels.rating >= self.relevant])
        blocks = [self._pairs(early, b) for b in _blocks(users)]
        X = np.concatenate([f for _, _, f in blocks])
        user = np.concatenate([u for u, _, _ in blocks])
        found = labels.rating_of(user, np.concatenate([i for _, i, _ in blocks]))
        return X, (np.nan_to_num(found, nan=0.0) >= self.relevant).astype(np.int8), user

    def _label_mask(self, history: Interactions, round_: int = 0) -> np.ndarray:
        """``label_fraction`` of each user's ratings (at least one, never all): their latest,
        or drawn at random."""
        if self.label_split == "latest":
            within = history.timestamp
        else:
            seed = (self.random_state, round_)
            within = np.random.default_rng(seed).random(len(history))
        order = np.lexsort((history.item, within, history.user))
        count = np.bincount(history.user, minlength=history.n_users)
        starts = np.concatenate([[0], np.cumsum(count)[:-1]])
        position = np.arange(len(order)) - np.repeat(starts, count)  # 0 = earliest
        n_user = count[history.user[order]]
        n_held = np.where(n_user >= 2, np.maximum(1, np.floor(n_user * self.label_fraction)), 0)
        held = np.zeros(len(history), bool)
        held[order] = position >= n_user - n_held
        return held

    def _stage(self, data: Dataset, history: Interactions) -> _Stage:
        from recsys.models.registry import make_model

        def fit(name: str) -> Recommender:
            return make_model(name).fit(data, history=history)

        raters = {name: fit(name) for name in RATERS}
        if self.rating_model not in raters:
            raters[self.rating_model] = fit(self.rating_model)
        return _Stage(history, {g: fit(g) for g in self.generators}, raters)

    def _live_stage(self) -> _Stage:
        """The stage of the fitted model, built once (its statistics are kept with it)."""
        if getattr(self, "_live", None) is None:
            self._live = _Stage(self.history_, self.generators_, self.raters_)
        return self._live

    # -- candidates and features ---------------------------------------------------------
    def _pairs(
        self,
        stage: _Stage,
        users: np.ndarray,
        depth: int | None = None,
        allowed: np.ndarray | None = None,
        exclude_seen: bool = True,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(user, item) pairs of the candidates of a block of users, sorted by user, with
        their feature matrix. ``allowed`` (a mask over items) restricts the candidates, and
        ``depth`` (default the ranker's) how many each generator proposes; neither changes a
        pair's features, which depend on the user and the movie alone."""
        depth = depth or self.depth
        n_items = stage.history.n_items
        rated = stage.rated_rows(users)
        seen_rows = np.repeat(np.arange(len(users)), np.diff(rated.indptr))
        chosen = np.zeros((len(users), n_items), bool)
        described = []
        for generator in stage.generators.values():
            score = stage.scores(generator, users, rated)
            unseen = score.copy()
            if exclude_seen:
                unseen[seen_rows, rated.indices] = -np.inf
            # rank among the unseen (capped at the ranker's depth), against the best and the
            # mean of the top: trees cannot compare rows, so the features say it
            top, top_scores = _best(unseen, min(self.depth, n_items))
            rank = np.full((len(users), n_items), self.depth, np.int32)
            rank[np.arange(len(users))[:, None], top] = np.arange(top.shape[1], dtype=np.int32)
            valid = np.isfinite(top_scores)
            n_valid = valid.sum(axis=1)
            best = np.where(n_valid > 0, top_scores[:, 0], np.nan)  # best first
            total = np.where(valid, top_scores, 0.0).sum(axis=1)
            mean = np.where(n_valid > 0, total / np.maximum(n_valid, 1), np.nan)
            pick = unseen
            if allowed is not None:
                pick = unseen.copy()
                pick[:, ~allowed] = -np.inf
            if allowed is not None or depth != self.depth:
                top, top_scores = _best(pick, min(depth, n_items))
            rows = np.repeat(np.arange(len(users)), top.shape[1])
            finite = np.isfinite(top_scores).ravel()
            chosen[rows[finite], top.ravel()[finite]] = True
            described.append((score, rank, best, mean))
        row, item = np.nonzero(chosen)
        user = users[row]
        generated = []
        for score, rank, best, mean in described:
            value = score[row, item]
            value = np.where(np.isfinite(value), value, np.nan)
            generated += [value, rank[row, item], value - best[row], value - mean[row]]
        return user, item, self._features(stage, user, item, generated)

    def _features(self, stage: _Stage, user, item, generated: list[np.ndarray]) -> np.ndarray:
        s = stage.statistics(self.item_era_, self.item_genres_)
        predicted = [stage.predict(r, user, item) for r in RATERS]
        closest, distance = stage.closest(user, item)
        row = stage.statistics_row(user)  # where the user's statistics are
        # era mean (SPEC §3; a candidate is unseen, so nothing of its own to leave out)
        era = self.item_era_[item].astype(np.int64)
        key = row.astype(np.int64) * len(ERAS) + np.maximum(era, 0)
        era_count = np.where(era >= 0, s["era_count"][key], 0.0)
        era_mean = np.divide(s["era_sum"][key], era_count, out=np.full(len(item), ERA_DEFAULT),
                             where=era_count > 0)  # fmt: skip
        age = 1970 + s["now"] / SECONDS_PER_YEAR - self.item_year_[item]
        genres = genre_affinity(s["genre_counts"], s["genre_sums"], s["user_count"],
                                s["user_mean"], self.item_genres_, row, item)  # fmt: skip
        columns = [
            *generated, *predicted, *closest.T, *distance.T, era_mean,
            *(s[name][item] for name in ("item_count", "item_mean", "item_recent", "item_trend")),
            age, *genres.T, *(s[name][row] for name in ("user_count", "user_mean",
                                                          "user_mainstream")),
        ]  # fmt: skip
        return np.column_stack(columns).astype(np.float32)

    # -- ranking ---------------------------------------------------------------------
    def _rank_live(self, user: int, n: int, offset: int, candidates, exclude_seen: bool,
                   stage: _Stage | None = None):  # fmt: skip
        depth = max(self.depth, offset + n)
        _, items, features = self._pairs(
            stage or self._live_stage(), np.array([user]), depth, candidates, exclude_seen
        )
        scores = self.forest_.raw(features).astype(np.float32)
        best = top_n(scores, n, offset)
        return items[best], scores[best]

    def _precompute(self) -> None:
        """The top ``precompute`` of every known user, ranked once, with the rating model's
        predicted rating of each (a served list shows both)."""
        n_users, depth = len(self.users_), self.precompute
        self.ranked_items_ = np.full((n_users, depth), -1, np.int32)
        self.ranked_scores_ = np.full((n_users, depth), -np.inf, np.float32)
        self.ranked_ratings_ = np.full((n_users, depth), np.nan, np.float32)
        if depth == 0:
            return
        known = np.flatnonzero(np.diff(self.seen_indptr_) > 0)
        stage = self._live_stage()
        for block in _blocks(known):
            user, item, features = self._pairs(stage, block, max(self.depth, depth))
            scores = self.forest_.raw(features).astype(np.float32)
            order = np.lexsort((item, -scores, user))
            user, item, scores = user[order], item[order], scores[order]
            first = np.searchsorted(user, user, side="left")
            position = np.arange(len(user)) - first
            keep = position < depth
            user, item, position = user[keep], item[keep], position[keep]
            self.ranked_items_[user, position] = item
            self.ranked_scores_[user, position] = scores[keep]
            self.ranked_ratings_[user, position] = self.rater_.predict_indices(user, item).rating

    def _check_state(self, n_users: int, n_items: int) -> None:
        self._check_history(n_users, n_items)
        check_movie_eras(self.item_year_, self.item_era_, n_items)
        if self.item_genres_.shape[0] != n_items:
            raise ValueError(f"item_genres_ has {self.item_genres_.shape[0]} rows, not {n_items}")
        self.forest_.check_width(self.feature_names_)
        items = self.ranked_items_
        shapes = {items.shape, self.ranked_scores_.shape, self.ranked_ratings_.shape}
        if shapes != {(n_users, self.precompute)}:
            raise ValueError(f"the precomputed lists are {' and '.join(map(str, shapes))}, "
                             f"expected {(n_users, self.precompute)}")  # fmt: skip
        if items.size and not -1 <= items.min() <= items.max() < n_items:
            raise ValueError("the precomputed lists name movies the model does not have")

    def recommend_indices(
        self,
        user: int,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        candidates: np.ndarray | None = None,
        offset: int = 0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The precomputed list where it holds the page, else the live ranking."""
        page = self._stored_page(user, n, offset, exclude_seen, candidates)
        if page is None:
            return self._rank_live(user, n, offset, candidates, exclude_seen)
        return self.ranked_items_[user, page].astype(np.int64), self.ranked_scores_[user, page]

    def recommend_rated(
        self,
        user: int,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        candidates: np.ndarray | None = None,
        offset: int = 0,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The precomputed list's page with its predicted ratings, kept beside it."""
        page = self._stored_page(user, n, offset, exclude_seen, candidates)
        if page is None:
            return super().recommend_rated(user, n, exclude_seen=exclude_seen,
                                           candidates=candidates, offset=offset)  # fmt: skip
        return (self.ranked_items_[user, page].astype(np.int64), self.ranked_scores_[user, page],
                self.ranked_ratings_[user, page])  # fmt: skip

    def _stored_page(self, user: int, n: int, offset: int, exclude_seen: bool,
                     candidates: np.ndarray | None) -> slice | np.ndarray | None:  # fmt: skip
        """Where the page lies in the user's precomputed list (None: the list does not hold
        it). The list is its valid items first, then -1 padding."""
        if not (exclude_seen and self.precompute):
            return None
        items = self.ranked_items_[user]
        end = offset + n
        if candidates is None:
            return slice(offset, end) if end <= len(items) and items[end - 1] >= 0 else None
        allowed = np.flatnonzero((items >= 0) & candidates[np.maximum(items, 0)])
        return allowed[offset:end] if len(allowed) >= end else None

    def score_items(self, user: int) -> np.ndarray:
        """Every candidate's ranker score (log-odds); movies outside the candidates -inf."""
        items, scores = self._rank_live(user, len(self.items_), 0, None, True)
        out = np.full(len(self.items_), -np.inf, np.float32)
        out[items] = scores
        return out

    # -- fold-in ---------------------------------------------------------------------
    def _fold(self, ratings: UserRatings) -> _FoldedStage:
        """The live stage with the user added: candidates and features from their ratings."""
        live = self._live_stage()
        raters = {name: rater.fold_in(ratings) for name, rater in live.raters.items()}
        return _FoldedStage(live.history, live.generators, raters, ratings=ratings, base=live)

    def _fold_recommend(self, folded, n, offset, candidates, seen):
        stage = folded.state
        return self._rank_live(stage.user, n, offset, candidates, len(seen) > 0, stage)

    def _fold_score(self, folded, items) -> np.ndarray:
        stage = folded.state
        found, scores = self._rank_live(stage.user, len(self.items_), 0, None, True, stage)
        out = np.full(len(self.items_), -np.inf, np.float32)
        out[found] = scores
        return out[items]

    def _fold_predict(self, folded, items) -> np.ndarray:
        return folded.state.raters[self.rating_model].predict(items)

    # -- ratings ---------------------------------------------------------------------
    @property
    def rater_(self) -> Recommender:
        """The model that answers predicted ratings."""
        return self.raters_[self.rating_model]

    @property
    def answers_in_microseconds(self) -> bool:
        """Lists are precomputed, and predicted ratings as quick as the rating model's."""
        return self.precompute > 0 and self.rater_.answers_in_microseconds

    def similarity(self, item: int) -> np.ndarray:
        """The rating model's (movie factors for matrix factorisation)."""
        return self.rater_.similarity(item)

    @property
    def similar_in_microseconds(self) -> bool:
        return self.rater_.similar_in_microseconds

    def predict_indices(self, user: np.ndarray, item: np.ndarray, timestamps=None) -> Predictions:
        """The rating model's, fallback flags included."""
        return self.rater_.predict_indices(user, item, timestamps)


def _blocks(users: np.ndarray) -> list[np.ndarray]:
    """Users in blocks of at most `BLOCK` (none for no users)."""
    return [users[lo : lo + BLOCK] for lo in range(0, len(users), BLOCK)]


def _best(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` best columns, best first, and their scores. Which scores tied at the
    cut get in is argpartition's choice, as when the ranker was tuned: a candidate set is no
    page, and cutting by `best_columns` (ties to the smaller column) moved seed1's NDCG@10 from
    0.2715 to 0.2691, below issue 9's 0.27."""
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    top_scores = np.take_along_axis(scores, top, axis=1)
    order = np.lexsort((top, -top_scores), axis=1)
    return np.take_along_axis(top, order, axis=1), np.take_along_axis(top_scores, order, axis=1)
