"""Gradient-boosted regressors on closest-rater features: the Netflix seed's model
(``gbm-seed``) and the blend that stacks every other model's predictions (``gbm``).

The blend learns from predictions the base models made for ratings they did not see: the
training ratings are split into folds, each fold's features and base predictions come from
models fitted on the other folds, and the base models are then refitted on all the training
ratings for prediction. Its statistics are out-of-fold too, not leave-one-out: a leave-one-out
mean, (S − r) / (n − 1), moves against the target's own rating, and trees learn to read the
rating back from it (on ml-latest-small that took the blend from RMSE 0.80 to 0.86).

At full Netflix size, folds cost one fit of every base model per fold and features for every
rating. ``blend_sample=n`` describes n training ratings instead, held out of one fit of the
base models (as Netflix Prize teams blended on a held-out probe); the bases are then fitted on
every rating, as with folds: two fits of each base model, not folds + 1, and features for n
targets. Keeping the held-out fit's bases for prediction would save one more fit, but they
lack the sample: on a 60 k synthetic set that cost 0.040 RMSE against 0.003 with the refit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from recsys.data.interactions import Interactions
from recsys.execution import current_engine
from recsys.features.bias import Biases
from recsys.features.builder import (
    BLEND_FEATURES,
    SEED_FEATURES,
    blend_features,
    item_years,
    seed_features,
)
from recsys.features.closest import reusing
from recsys.features.era import check_movie_eras, movie_eras
from recsys.models.base import Recommender
from recsys.models.closest import ClosestRaters as ClosestRatersModel
from recsys.models.trees import Forest, fittable

if TYPE_CHECKING:
    from recsys.data.dataset import Dataset

VALIDATION_FRACTION = 0.1  # the share of targets early stopping holds out
N_ITER_NO_CHANGE = 30  # the blend's patience (gbm-seed keeps scikit-learn's 10)


def held_out(random_state: int, n_targets: int) -> np.ndarray:
    """Which training targets early stopping holds out (a seeded 10 %): the same rows on one
    machine (scikit-learn's ``X_val``) and on a cluster (`recsys.distributed`), so the two
    paths grow their trees from the same rows and stop by the same rule."""
    return np.random.default_rng([random_state, 1]).random(n_targets) < VALIDATION_FRACTION


class _Boosted(Recommender):
    """Shared by both: the history and movie eras the features are read from. Unknown users
    and movies fall back to the damped biases, as in every model: with no closest raters and
    no history their features say nothing the biases do not say better."""

    def _regressor(self, **overrides):
        """A HistGradientBoostingRegressor (imported here: serving a saved model never needs
        scikit-learn, its trees are plain arrays)."""
        from sklearn.ensemble import HistGradientBoostingRegressor

        params = {
            "max_iter": self.max_iter,
            "learning_rate": self.learning_rate,
            "max_leaf_nodes": self.max_leaf_nodes,
            "min_samples_leaf": self.min_samples_leaf,
            "l2_regularization": self.l2_regularization,
            "random_state": self.random_state,
        }
        return HistGradientBoostingRegressor(**(params | overrides))

    def _boost(self, features: np.ndarray, target: np.ndarray, held: np.ndarray,
               **overrides) -> Forest:  # fmt: skip
        """The regressor fitted on the rows not ``held``, stopping early on the held ones (on
        every row, with no stopping, when either part is empty: a handful of targets)."""
        if held.all() or not held.any():
            fitted = self._regressor(early_stopping=False).fit(fittable(features), target)
            return Forest.from_sklearn(fitted)
        features = fittable(features, ~held)
        fitted = self._regressor(early_stopping=True, **overrides).fit(
            features[~held], target[~held], X_val=features[held], y_val=target[held]
        )
        return Forest.from_sklearn(fitted)

    def _validate(self) -> None:
        self._require(self.max_iter >= 1, "max_iter must be >= 1")
        self._require(self.learning_rate > 0, "learning_rate must be > 0")
        self._require(
            self.max_candidates is None or self.max_candidates >= 1,
            "max_candidates must be None (exact) or >= 1",
        )

    rank_pool = 200

    def _remember(self, history: Interactions, data: Dataset) -> None:
        self.history_ = history
        self.item_year_ = item_years(history.items, data.movies)
        self.item_era_ = movie_eras(self.item_year_)

    def _check_state(self, n_users: int, n_items: int) -> None:
        self._check_history(n_users, n_items)
        check_movie_eras(self.item_year_, self.item_era_, n_items)
        self.regressor_.check_width(self.feature_names_)


class GBMSeed(_Boosted):
    """The Netflix seed's model: HistGradientBoostingRegressor on closest_1..4 and era_mean."""

    name = "gbm-seed"

    def __init__(
        self,
        max_iter: int = 300,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 20,
        l2_regularization: float = 0.0,
        era_default: float = 2.0,
        max_candidates: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.era_default = era_default
        self.max_candidates = max_candidates
        self.random_state = random_state

    def _features(self, user, item, history=None) -> np.ndarray:
        return seed_features(
            self.history_ if history is None else history, self.item_era_, user, item,
            era_default=self.era_default, max_candidates=self.max_candidates,
        )  # fmt: skip

    def _fit(self, history: Interactions, data: Dataset) -> None:
        self._remember(history, data)
        if (engine := current_engine()) is not None:  # recsys --cluster (recsys.distributed)
            return engine.fit_seed(self, history, data)
        # SPEC §3: a training target's features come from the history without that target;
        # both definitions leave the target's own rating out, so the full history serves.
        features = self._features(history.user, history.item)
        held = held_out(self.random_state, len(history))
        self.regressor_ = self._boost(features, history.rating, held)
        self.feature_names_ = SEED_FEATURES

    def _predict(self, user, item, timestamps) -> np.ndarray:
        if (engine := current_engine()) is not None and engine.distributes(len(user)):
            return engine.predict(self, user, item, timestamps)
        return self.regressor_.raw(self._features(user, item))

    def _fold(self, ratings):
        """The history with the user added, which their closest raters and era mean read."""
        return self.history_.with_user(ratings.items, ratings.ratings, ratings.timestamps)

    def _fold_predict(self, folded, items) -> np.ndarray:
        history, user = folded.state
        users = np.full(len(items), user, np.int32)
        return self.regressor_.raw(self._features(users, items, history))


class GBMBlend(_Boosted):
    """HistGradientBoostingRegressor on every feature and the base models' predictions."""

    name = "gbm"

    def __init__(
        self,
        base_models: tuple[str, ...] = ("baseline", "mf", "item-knn", "closest-raters"),
        folds: int = 5,
        blend_sample: int | None = None,
        max_iter: int = 1000,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 40,
        l2_regularization: float = 1.0,
        era_default: float = 2.0,
        max_candidates: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.base_models = tuple(base_models)
        self.folds = folds
        self.blend_sample = blend_sample
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.era_default = era_default
        self.max_candidates = max_candidates
        self.random_state = random_state

    def _validate(self) -> None:
        from recsys.models.registry import MODELS

        super()._validate()
        self._require(self.folds >= 2, "folds must be >= 2")
        self._require(
            self.blend_sample is None or self.blend_sample >= 1,
            "blend_sample must be None (every rating, out of fold) or >= 1",
        )
        unknown = [m for m in self.base_models if m not in MODELS or m.startswith("gbm")]
        self._require(not unknown, f"base_models: cannot blend {unknown}")

    def _fit_bases(self, data: Dataset, history: Interactions) -> dict[str, Recommender]:
        """The base models, the closest-raters one examining the candidates the blend's own
        closest-rater features do (so the two share one computation, `reusing`)."""
        from recsys.models.registry import make_model

        def base(name: str) -> Recommender:
            if name == ClosestRatersModel.name:
                return make_model(name, max_candidates=self.max_candidates)
            return make_model(name)

        return {name: base(name).fit(data, history=history) for name in self.base_models}

    def _biases(self, history: Interactions) -> Biases:
        """The damped biases of a history; those of the fitted history are kept, so predicting
        (or ranking, a user at a time) does not refit them on every call."""
        fitted = history is getattr(self, "history_", None)
        if fitted and getattr(self, "_history_biases", None) is not None:
            return self._history_biases
        biases = Biases.fit(history, user_damping=5.0, item_damping=5.0, iterations=10)
        if fitted:
            self._history_biases = biases
        return biases

    def _features(self, history, bases, user, item, timestamps, base_scores=None) -> np.ndarray:
        biases = self._biases(history)
        with reusing():  # the closest-raters base model reads the same closest raters
            features = blend_features(
                history, biases, self.item_year_, self.item_era_, user, item, timestamps,
                era_default=self.era_default, max_candidates=self.max_candidates,
            )  # fmt: skip
            if base_scores is None:
                base_scores = [m.predict_indices(user, item, timestamps).rating
                               for m in bases.values()]  # fmt: skip
        return np.column_stack([features, *base_scores]).astype(np.float32)

    def _fit(self, history: Interactions, data: Dataset) -> None:
        self._remember(history, data)
        if (engine := current_engine()) is not None:  # recsys --cluster (recsys.distributed)
            return engine.fit_blend(self, history, data)
        fold = self.assignment(len(history))
        described = np.flatnonzero(fold >= 0)
        features = np.empty((len(described), len(BLEND_FEATURES) + len(self.base_models)),
                            np.float32)  # fmt: skip
        for f in range(fold.max() + 1):
            rows = fold == f
            features[rows[described]] = self._held_out_features(data, history, rows)
        self.base_models_ = self._fit_bases(data, history)
        held = held_out(self.random_state, len(history))[described]
        self.regressor_ = self._boost(features, history.rating[described], held,
                                      n_iter_no_change=N_ITER_NO_CHANGE)  # fmt: skip
        self.feature_names_ = [*BLEND_FEATURES, *self.base_models]

    def _held_out_features(self, data: Dataset, history: Interactions, rows: np.ndarray):
        """Features of the ``rows`` of the history, from base models fitted without them (the
        rest of the history and those models are let go on return: at full Netflix size the
        rest is a second copy of the ratings)."""
        rest = history.subset(~rows)
        return self._features(
            rest, self._fit_bases(data, rest),
            history.user[rows], history.item[rows], history.timestamp[rows],
        )  # fmt: skip

    def assignment(self, n_ratings: int) -> np.ndarray:
        """The fold each training rating is described in (-1: none): folds for all of them,
        or ``blend_sample`` of them (a seeded sample) as one held-out fold."""
        rng = np.random.default_rng(self.random_state)
        if self.blend_sample is None or self.blend_sample >= n_ratings:
            return rng.integers(0, self.folds, n_ratings)
        fold = np.full(n_ratings, -1, np.int64)
        fold[rng.choice(n_ratings, self.blend_sample, replace=False)] = 0
        return fold

    def _predict(self, user, item, timestamps) -> np.ndarray:
        if (engine := current_engine()) is not None and engine.distributes(len(user)):
            return engine.predict(self, user, item, timestamps)
        features = self._features(self.history_, self.base_models_, user, item, timestamps)
        return self.regressor_.raw(features)

    def _fold(self, ratings):
        """The history with the user added (for the features), and each base model's fold-in."""
        history, user = self.history_.with_user(ratings.items, ratings.ratings, ratings.timestamps)
        bases = {name: m.fold_in(ratings) for name, m in self.base_models_.items()}
        return history, user, bases

    def _fold_predict(self, folded, items) -> np.ndarray:
        history, user, bases = folded.state
        users = np.full(len(items), user, np.int32)
        times = np.full(len(items), self.last_timestamp_, np.int64)
        base_scores = [b.predict(items) for b in bases.values()]
        features = self._features(history, None, users, items, times, base_scores=base_scores)
        return self.regressor_.raw(features)

    def score_items(self, user: int) -> np.ndarray:
        """Every item for one user: the base models score all items their own fast way."""
        items = np.arange(len(self.items_), dtype=np.int32)
        users = np.full(len(items), user, np.int32)
        times = np.full(len(items), self.last_timestamp_, np.int64)
        base_scores = [m.scale_.clip(m.score_items(user)) for m in self.base_models_.values()]
        features = self._features(
            self.history_, self.base_models_, users, items, times, base_scores=base_scores
        )
        return self.regressor_.raw(features).astype(np.float32)
