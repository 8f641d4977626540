"""One contract, every model (SPEC §4): fit returns self, predictions are clipped and flag the
fallback, recommendations exclude what was seen and come best first, and a saved model loads
back to the same predictions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from recsys.data.frames import catalogue_from_ratings
from recsys.data.interactions import Interactions
from recsys.data.schema import ITEM, RATING, USER
from recsys.errors import ArtifactError, ConfigError, NotFittedError, UnknownUserError
from recsys.evaluation.metrics import rmse
from recsys.models.base import UserRatings
from recsys.models.persistence import load_model
from recsys.models.registry import MODELS, make_model
from tests.arrays import read_npz, rewrite_npz
from tests.models.conftest import FAST, unseen_ids


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request, train):
    model = make_model(request.param, **FAST.get(request.param, {}))
    assert model.fit(train) is model
    return model


def test_predictions_are_on_the_scale_and_aligned(fitted, split):
    test = split.test
    result = fitted.predict(test[USER].to_numpy(), test[ITEM].to_numpy())
    assert result.rating.shape == (len(test),)
    assert result.rating.dtype == np.float32
    assert np.isfinite(result.rating).all()
    assert result.rating.min() >= 1.0 and result.rating.max() <= 5.0
    assert result.fallback.dtype == bool and result.fallback.shape == (len(test),)


def test_unknown_ids_fall_back_to_the_biases_and_say_so(fitted, train):
    users = train.ratings[USER].to_numpy()
    items = train.ratings[ITEM].to_numpy()
    new_users, new_items = unseen_ids(users), unseen_ids(items)
    pairs_user = np.r_[new_users[:2], users[:2]]
    pairs_item = np.r_[items[:2], new_items[:2]]
    result = fitted.predict(pairs_user, pairs_item)
    assert result.fallback.all()
    expected = fitted.fallback_.predict(
        fitted.users_.index(pairs_user), fitted.items_.index(pairs_item)
    )
    if fitted.name == "global-mean":  # the reference: the mean everywhere, no biases
        expected = np.full(len(pairs_user), train.ratings[RATING].mean())
    np.testing.assert_allclose(result.rating, train.scale.clip(expected), rtol=1e-5)
    known = fitted.predict(users[:5], items[:5])
    assert not known.fallback.any()


def test_beats_the_global_mean_unless_it_is_the_global_mean(fitted, split):
    test = split.test
    warm = ~split.cold_mask()
    predicted = fitted.predict(test[USER].to_numpy()[warm], test[ITEM].to_numpy()[warm]).rating
    error = rmse(predicted, test[RATING].to_numpy()[warm])
    mean_error = rmse(
        np.full(warm.sum(), fitted.fallback_.global_mean), test[RATING].to_numpy()[warm]
    )
    if fitted.name == "global-mean":
        assert error == pytest.approx(mean_error, rel=1e-4)
    else:
        assert error < mean_error - 0.01, (fitted.name, error, mean_error)


def test_recommendations_are_unseen_distinct_and_best_first(fitted, train):
    user = train.ratings[USER].iloc[0]
    seen = set(train.ratings.loc[train.ratings[USER] == user, ITEM])
    ids, scores = fitted.recommend(user, n=10)
    assert len(ids) == 10 and len(set(ids.tolist())) == 10
    assert not seen & set(ids.tolist())
    assert np.all(np.diff(scores) <= 1e-6)
    with_seen, _ = fitted.recommend(user, n=len(fitted.items_), exclude_seen=False)
    assert len(with_seen) == len(fitted.items_)


def test_recommendation_pages_and_candidate_filters(fitted, train):
    user = train.ratings[USER].iloc[0]
    first, _ = fitted.recommend(user, n=20)
    page, _ = fitted.recommend(user, n=10, offset=10)
    np.testing.assert_array_equal(page, first[10:])
    allowed = fitted.items_.ids[::7]
    chosen, _ = fitted.recommend(user, n=5, items=allowed)
    assert set(chosen.tolist()) <= set(allowed.tolist())


@pytest.mark.parametrize("offset", [0, 5, 25])  # 25: past the ranker's precomputed 20
@pytest.mark.parametrize("filtered", [False, True])
def test_a_rated_page_is_the_page_with_the_models_predicted_ratings(fitted, offset, filtered):
    counts = np.diff(fitted.seen_indptr_)
    user = int(np.argmin(np.where(counts > 0, counts, counts.max())))  # the most left to rank
    candidates = (np.arange(len(fitted.items_)) % 3 == 0) if filtered else None
    kwargs = {"candidates": candidates, "offset": offset}
    items, scores, ratings = fitted.recommend_rated(user, 10, **kwargs)
    expected_items, expected_scores = fitted.recommend_indices(user, 10, **kwargs)
    np.testing.assert_array_equal(items, expected_items)
    np.testing.assert_array_equal(scores, expected_scores)
    users = np.full(len(items), user, np.int64)
    expected = fitted.predict_indices(users, items).rating
    assert ratings.dtype == np.float32 and len(items) == 10
    np.testing.assert_allclose(ratings, expected, rtol=1e-6)


def test_misshapen_arguments_are_refused_with_their_names(fitted, train):
    user, item = train.ratings[USER].to_numpy()[:3], train.ratings[ITEM].to_numpy()[:3]
    with pytest.raises(ValueError, match="as long as each other, got 3 and 2"):
        fitted.predict(user, item[:2])
    with pytest.raises(ValueError, match="got 2 and 2 and 1"):
        fitted.predict(user[:2], item[:2], timestamps=[0])
    with pytest.raises(ValueError, match="offset >= 0"):
        fitted.recommend(user[0], 5, offset=-2)
    with pytest.raises(TypeError, match="integers"):
        fitted.recommend(user[0], 2.5)


def test_text_ids_name_the_same_users_and_movies_in_predict_and_recommend(fitted, train):
    user, item = train.ratings[USER].iloc[0], train.ratings[ITEM].iloc[0]
    as_text, as_ids = fitted.predict([str(user)], [str(item)]), fitted.predict([user], [item])
    assert as_text.rating == as_ids.rating and not as_text.fallback.any()
    assert np.array_equal(fitted.recommend(str(user), 3)[0], fitted.recommend(user, 3)[0])


def test_unknown_user_cannot_be_recommended_for(fitted, train):
    with pytest.raises(UnknownUserError) as error:
        fitted.recommend(int(unseen_ids(train.ratings[USER].to_numpy())[0]))
    assert isinstance(error.value, KeyError)


def test_save_and_load_give_the_same_model(fitted, split, tmp_path):
    test = split.test
    folder = fitted.save(tmp_path / fitted.name)
    loaded = load_model(folder)
    assert type(loaded) is type(fitted) and loaded.get_params() == fitted.get_params()
    users, items = test[USER].to_numpy(), test[ITEM].to_numpy()
    np.testing.assert_array_equal(loaded.predict(users, items).rating,
                                  fitted.predict(users, items).rating)  # fmt: skip
    user = test[USER].iloc[0]
    np.testing.assert_array_equal(loaded.recommend(user)[0], fitted.recommend(user)[0])


def test_similarity_is_a_finite_score_per_movie_and_a_movie_is_most_like_itself(
    fitted, train, tmp_path
):
    history = Interactions.from_ratings(train.ratings)
    item = int(np.argmax(history.by_item.counts))
    scores = fitted.similarity(item)
    assert scores.shape == (len(fitted.items_),) and scores.dtype == np.float32
    assert np.isfinite(scores).all()
    assert scores[item] >= scores.max() - 1e-5  # cosine: nothing beats the movie itself
    loaded_scores = load_model(fitted.save(tmp_path / "model")).similarity(item)
    np.testing.assert_allclose(loaded_scores, scores, atol=1e-6)


@pytest.mark.parametrize(
    ("name", "array", "message"),
    [("mf", "item_factors_", "item_factors_ is"), ("als", "user_factors_", "user_factors_ is"),
     ("ease", "weights_", "weights_ is not"), ("ranker", "ranked_items_", "precomputed lists"),
     ("ranker", "ranked_ratings_", "precomputed lists"), ("ranker", "item_era_", "eras"),
     ("ranker", "history_.by_item.indices", "do not fit the ids"),
     ("baseline", "biases_.item_bias", "biases are for"),
     ("item-knn", "item_users_", "do not fit the ids"),
     ("item-knn", "user_residuals_", "residuals"), ("popular", "item_scores_", "item_scores_ is"),
     ("item-cooc", "similarity_.indices", "indices must be"),  # scipy's own check
     ("item-cooc", "similarity_.data", "corrupt"),
     ("closest-raters", "history_.user", "differ in length"),
     ("gbm-seed", "item_year_", "years"), ("gbm", "history_.by_user.ratings", "entries")],
)  # fmt: skip
def test_a_models_own_arrays_that_do_not_fit_its_ids_are_refused(
    name, array, message, train, tmp_path
):
    """Arrays that kernels index without bounds checks are refused at load, with a reason,
    instead of answering 500 (or reading past the end) at the first request."""
    folder = make_model(name, **FAST.get(name, {})).fit(train).save(tmp_path / name)
    values = read_npz(folder / "arrays.npz")[array]
    if array.endswith(".indices"):  # an index past every id
        values = values.copy()
        values[-1] = 10**6
    else:
        values = values[:-1]  # a row short
    rewrite_npz(folder / "arrays.npz", **{array: values})
    with pytest.raises(ArtifactError, match=message):
        load_model(folder)


def test_only_models_that_answer_by_a_product_or_a_lookup_claim_microseconds(fitted):
    quick = {"mf", "baseline", "global-mean", "ranker"}  # the ranker: precomputed, rated by mf
    assert bool(fitted.answers_in_microseconds) == (fitted.name in quick)
    assert bool(fitted.similar_in_microseconds) == (fitted.name in {"mf", "ranker"})


def test_a_loaded_model_whose_arrays_do_not_fit_its_ids_is_refused(fitted, tmp_path):
    folder = fitted.save(tmp_path / "model")
    indptr = read_npz(folder / "arrays.npz")["seen_indptr_"]
    rewrite_npz(folder / "arrays.npz", seen_indptr_=indptr[:-1])
    with pytest.raises(ArtifactError, match="do not fit the ids"):
        load_model(folder)


def test_a_damaged_artifact_is_refused_with_a_reason(fitted, tmp_path):
    folder = fitted.save(tmp_path / "model")
    (folder / "arrays.npz").write_bytes(b"not an npz")
    with pytest.raises(ArtifactError):
        load_model(folder)


def test_unfitted_and_misconfigured_models_say_what_is_wrong(fitted, train):
    fresh = make_model(fitted.name)
    with pytest.raises(NotFittedError):
        fresh.predict([1], [1])
    with pytest.raises(ConfigError, match="empty"):
        fresh.fit(train.with_ratings(train.ratings.iloc[:0]))


@pytest.mark.parametrize(
    ("name", "params"),
    [("mf", {"n_factors": 0}), ("item-knn", {"k": 0}), ("closest-raters", {"n": 0}),
     ("gbm", {"base_models": ("gbm",)}), ("gbm-seed", {"learning_rate": 0})],
)  # fmt: skip
def test_bad_hyperparameters_are_refused(name, params, train):
    with pytest.raises(ConfigError):
        make_model(name, **params).fit(train)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_fits_ratings_whose_catalogue_knows_only_ids(name, train, split):
    """A generic table or Netflix data without titles: no genres, no release years."""
    bare = dataclasses.replace(train, movies=catalogue_from_ratings(train.ratings))
    model = make_model(name, **FAST.get(name, {})).fit(bare)
    test = split.test
    assert np.isfinite(model.predict(test[USER].to_numpy(), test[ITEM].to_numpy()).rating).all()
    assert len(model.recommend(train.ratings[USER].iloc[0], 5)[0]) == 5


def test_unknown_model_names_list_the_known_ones():
    with pytest.raises(ConfigError, match="item-knn"):
        make_model("svd")


# -- fold-in: one path for every model ---------------------------------------------------------
def _own_ratings(model, train, user: int) -> UserRatings:
    """A training user's ratings, as the model's item indices."""
    history = Interactions.from_ratings(train.ratings, model.users_, model.items_)
    row = history.by_user.row(user)
    by_user = history.by_user
    return UserRatings(by_user.indices[row].astype(np.int64), by_user.ratings[row],
                       by_user.timestamps[row])  # fmt: skip


def test_folding_in_a_users_own_ratings_reproduces_what_the_model_learnt(fitted, train):
    user = int(np.argmax(np.diff(fitted.seen_indptr_)))
    folded = fitted.fold_in(_own_ratings(fitted, train, user))
    items, scores = folded.recommend(10)
    trained, _ = fitted.recommend_indices(user, 10)
    assert len(items) == 10 and not np.isin(items, fitted.seen(user)).any()
    assert (np.diff(scores) <= 1e-6).all()
    assert len(set(items.tolist()) & set(trained.tolist())) >= 7
    predicted = folded.predict(items)
    assert predicted.dtype == np.float32 and predicted.min() >= 1 and predicted.max() <= 5
    learnt = fitted.predict_indices(np.full(len(items), user), items).rating
    assert np.abs(predicted - learnt).mean() < 0.25  # a solve, not the SGD's exact vector


def test_a_new_users_ratings_change_their_list_and_rated_movies_leave_it(fitted, train):
    popular = np.argsort(-fitted.item_counts_, kind="stable")
    few = UserRatings(popular[:3].astype(np.int64), np.full(3, 5.0, np.float32),
                      np.full(3, fitted.last_timestamp_, np.int64))  # fmt: skip
    first, _ = fitted.fold_in(few).recommend(10)
    assert len(first) == 10 and not np.isin(first, few.items).any()
    more = UserRatings(np.r_[few.items, first[:5]], np.r_[few.ratings, np.full(5, 1.0)],
                       np.r_[few.timestamps, np.full(5, fitted.last_timestamp_)])  # fmt: skip
    second, _ = fitted.fold_in(more).recommend(10)
    assert not np.isin(second, first[:5]).any()
    allowed = np.zeros(len(fitted.items_), bool)
    allowed[popular[3:40]] = True
    filtered, _ = fitted.fold_in(few).recommend(5, candidates=allowed, offset=2)
    assert allowed[filtered].all() and len(filtered) == 5


def test_fold_in_refuses_ratings_that_name_a_movie_twice(fitted):
    with pytest.raises(ConfigError, match="at most once"):
        UserRatings(np.array([1, 1]), np.array([4.0, 3.0]), np.array([1, 2]))
