"""Splits (SPEC §2.5): temporal by date or fraction, random by seed, per-user last-k, k-fold."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from recsys.data.splits import (
    SPLITS,
    kfold_splits,
    make_splits,
    probe_split,
    random_split,
    seed1_split,
    temporal_split,
    user_last_split,
)
from recsys.errors import ConfigError

DAY = 86_400


def day(date: str) -> int:
    return int(pd.Timestamp(date, tz="UTC").timestamp())


@pytest.fixture
def ratings() -> pd.DataFrame:
    """200 ratings by 20 users over 10 days (20 a day), shuffled, with a row id to follow."""
    rng = np.random.default_rng(3)
    n = 200
    frame = pd.DataFrame({
        "user_id": rng.integers(1, 21, n).astype(np.int32),
        "item_id": rng.integers(1, 51, n).astype(np.int32),
        "rating": rng.integers(1, 6, n).astype(np.float32),
        "timestamp": day("2005-01-01") + np.repeat(np.arange(10), 20) * DAY
                     + rng.integers(0, DAY, n),
    })  # fmt: skip
    frame = frame.sample(frac=1, random_state=0).reset_index(drop=True)
    return frame.assign(row=np.arange(n))


def test_temporal_split_by_a_cutoff_date(ratings):
    split = temporal_split(ratings, cutoff="2005-01-08")
    assert len(split.train) == 140 and len(split.test) == 60  # days 1-7 | days 8-10
    assert split.train["timestamp"].max() < day("2005-01-08") <= split.test["timestamp"].min()
    assert sorted([*split.train["row"], *split.test["row"]]) == list(range(200))
    assert split.train["row"].is_monotonic_increasing  # file order kept
    assert split.info["cutoff"] == "2005-01-08"


def test_temporal_split_by_a_fraction_cuts_at_a_whole_day(ratings):
    split = temporal_split(ratings, test_fraction=0.3)
    assert split.info["cutoff"] == "2005-01-08" and len(split.test) == 60
    # The 10 % default: the last day, whose 20 ratings are kept together.
    assert len(temporal_split(ratings).test) == 20


def test_temporal_split_reports_cold_test_ratings():
    ratings = pd.DataFrame(
        {
            "user_id": [1, 1, 2, 1, 3],
            "item_id": [1, 2, 1, 3, 1],
            "rating": [4.0] * 5,
            "timestamp": [day("2005-01-01")] * 3 + [day("2005-02-01")] * 2,
        }
    )
    split = temporal_split(ratings, cutoff="2005-01-15")
    # (1, 3): movie 3 unseen; (3, 1): user 3 unseen.
    assert split.cold_mask().tolist() == [True, True]
    assert split.describe()["n_test_cold"] == 2


def test_temporal_split_refuses_an_empty_period(ratings):
    with pytest.raises(ConfigError, match="leaves one period empty"):
        temporal_split(ratings, cutoff="2010-01-01")
    with pytest.raises(ConfigError, match="between 0 and 1"):
        temporal_split(ratings, test_fraction=1.5)


def test_random_split_is_reproducible_by_seed(ratings):
    a = random_split(ratings, test_fraction=0.25, seed=7)
    b = random_split(ratings, test_fraction=0.25, seed=7)
    c = random_split(ratings, test_fraction=0.25, seed=8)
    assert len(a.train) == 150 and len(a.test) == 50
    pd.testing.assert_frame_equal(a.test, b.test)
    assert a.test["row"].tolist() != c.test["row"].tolist()
    assert sorted([*a.train["row"], *a.test["row"]]) == list(range(200))
    expected = np.random.default_rng(7).permutation(200)[-50:]  # the documented recipe
    assert a.test["row"].tolist() == expected.tolist()


def test_seed1_split_is_pandas_sample_with_random_state_42(ratings):
    split = seed1_split(ratings)
    shuffled = ratings.sample(frac=1, random_state=42)
    assert split.train["row"].tolist() == shuffled["row"].tolist()[:180]
    assert split.test["row"].tolist() == shuffled["row"].tolist()[180:]


def test_user_last_holds_out_each_users_latest_but_keeps_one_in_training():
    ratings = pd.DataFrame({
        "user_id":   [1, 1, 1, 1, 2, 2, 3, 1],
        "item_id":   [1, 2, 3, 4, 1, 2, 1, 5],
        "rating":    [1.0] * 8,
        "timestamp": [10, 40, 20, 30, 5, 5, 1, 40],  # user 1 ties at 40: file order breaks it
    })  # fmt: skip
    split = user_last_split(ratings, k=2)

    # User 1: by time items 1, 3, 4, 2, 5 -> last two are 2 and 5. User 2: one of two held
    # (the later row). User 3: one rating, kept in training.
    def pairs(frame):
        return sorted(zip(frame["user_id"], frame["item_id"], strict=True))

    assert pairs(split.test) == [(1, 2), (1, 5), (2, 2)]
    assert pairs(split.train) == [
        (1, 1), (1, 3), (1, 4), (2, 1), (3, 1)
    ]  # fmt: skip
    with pytest.raises(ConfigError):
        user_last_split(ratings, k=0)


def test_user_last_on_random_data_against_brute_force(ratings):
    split = user_last_split(ratings, k=9)
    assert set(split.train["user_id"]) == set(ratings["user_id"])  # everyone keeps one
    for user, group in ratings.groupby("user_id"):
        by_time = group.sort_values(["timestamp", "row"])
        held = by_time["row"].tolist()[-min(9, len(group) - 1) :] if len(group) > 1 else []
        assert sorted(split.test.loc[split.test["user_id"] == user, "row"]) == sorted(held)


def test_kfold_tests_every_rating_exactly_once(ratings):
    splits = list(kfold_splits(ratings, folds=3, seed=1))
    assert [len(s.test) for s in splits] == [67, 67, 66]
    tested = np.concatenate([s.test["row"].to_numpy() for s in splits])
    assert sorted(tested.tolist()) == list(range(200))
    for s in splits:
        assert len(s.train) + len(s.test) == 200
        assert not set(s.train["row"]) & set(s.test["row"])
    again = list(kfold_splits(ratings, folds=3, seed=1))
    assert all(a.test["row"].tolist() == b.test["row"].tolist()
               for a, b in zip(splits, again, strict=True))  # fmt: skip
    with pytest.raises(ConfigError):
        next(kfold_splits(ratings, folds=1))


def test_make_splits_names_every_split(ratings):
    probe = ratings.iloc[::7][["user_id", "item_id"]]
    made = {name: make_splits(ratings, name, folds=4, seed=7, cutoff="2005-01-08", last_k=2,
                              probe=probe) for name in SPLITS}  # fmt: skip
    assert [len(made[name]) for name in SPLITS] == [1, 1, 1, 1, 4, 1]
    pd.testing.assert_frame_equal(made["probe"][0].test, probe_split(ratings, probe).test)
    pd.testing.assert_frame_equal(made["seed1"][0].test, seed1_split(ratings).test)
    pd.testing.assert_frame_equal(made["temporal"][0].test,
                                  temporal_split(ratings, cutoff="2005-01-08").test)  # fmt: skip
    pd.testing.assert_frame_equal(made["random"][0].test, random_split(ratings, seed=7).test)
    pd.testing.assert_frame_equal(made["user-last"][0].test, user_last_split(ratings, k=2).test)
    assert [s.name for s in made["kfold"]] == ["kfold-0", "kfold-1", "kfold-2", "kfold-3"]
    with pytest.raises(ConfigError, match="unknown split 'holdout'; choose from seed1"):
        make_splits(ratings, "holdout")


def test_probe_split_holds_out_exactly_the_probe_pairs(ratings):
    """Brute force: a rating is in the test set iff its (user, movie) is a probe pair."""
    ratings = ratings.drop_duplicates(["user_id", "item_id"]).reset_index(drop=True)
    probe = pd.concat([ratings.iloc[3::5][["user_id", "item_id"]],
                       pd.DataFrame({"user_id": [999], "item_id": [1]})])  # fmt: skip
    split = probe_split(ratings, probe)
    pairs = set(zip(probe["user_id"], probe["item_id"], strict=True))
    rated = zip(ratings["user_id"], ratings["item_id"], strict=True)
    in_probe = [(u, i) in pairs for u, i in rated]
    assert sorted(split.test["row"]) == sorted(ratings["row"][in_probe])
    assert sorted(split.train["row"]) == sorted(ratings["row"][~np.array(in_probe)])
    assert split.info["probe_pairs_unrated"] == 1  # (999, 1) has no rating: counted, not lost
    assert split.info["reference_rmse"] == {"Cinematch (quiz)": 0.9514}


def test_probe_split_reads_a_netflix_folders_probe_txt(tmp_path):
    from recsys.data.loading import load
    from recsys.data.netflix import read_probe
    from recsys.data.synthetic import write_netflix_synthetic

    folder = write_netflix_synthetic(tmp_path / "nf", 0.0005, seed=3)
    dataset = load(folder, cache=False)
    (split,) = make_splits(dataset.ratings, "probe", probe=folder)
    assert len(split.test) == len(read_probe(folder)) > 0
    assert len(split.train) + len(split.test) == len(dataset.ratings)
    with pytest.raises(ConfigError, match=r"probe\.txt"):
        make_splits(dataset.ratings, "probe")


@pytest.mark.parametrize(
    "split",
    [
        lambda r: temporal_split(r),
        lambda r: temporal_split(r, cutoff="2005-01-08"),
        lambda r: random_split(r),
        lambda r: seed1_split(r),
        lambda r: user_last_split(r),
        lambda r: next(kfold_splits(r)),
    ],
)
def test_no_ratings_is_one_clear_error(ratings, split):
    """temporal_split raised IndexError from np.quantile; k-fold asked for "2 to 0 folds"."""
    with pytest.raises(ConfigError, match=r"^no ratings to split$"):
        split(ratings.iloc[:0])


@pytest.mark.parametrize(
    ("split", "message"),
    [
        (lambda r: user_last_split(r, k="3"), "k must be an integer, got '3'"),
        (lambda r: user_last_split(r, k=2.0), "k must be an integer, got 2.0"),
        (lambda r: next(kfold_splits(r, folds="5")), "folds must be an integer, got '5'"),
        (lambda r: next(kfold_splits(r, folds=2.5)), "folds must be an integer, got 2.5"),
        (lambda r: next(kfold_splits(r, folds=True)), "folds must be an integer, got True"),
        (lambda r: random_split(r, test_fraction="0.2"), "test_fraction must be a number"),
        (lambda r: temporal_split(r, test_fraction="0.2"), "test_fraction must be a number"),
        (lambda r: make_splits(r, "kfold", folds=2.5), "folds must be an integer"),
    ],
)
def test_arguments_of_the_wrong_type_are_named(ratings, split, message):
    """They raised TypeError from a comparison ('<' not supported ...) or were truncated."""
    with pytest.raises(TypeError, match=f"^{re.escape(message)}"):
        split(ratings)


def test_numpy_numbers_are_arguments_like_any_other(ratings):
    assert len(random_split(ratings, test_fraction=np.float32(0.25)).test) == 50
    assert len(list(kfold_splits(ratings, folds=np.int64(4)))) == 4
    assert user_last_split(ratings, k=np.int32(1)).info["k"] == 1


def test_times_beyond_the_year_9999_do_not_break_a_split_or_a_summary(ratings):
    """pandas' dates end in 2262 and Python's in 9999: a date was NotImplementedError."""
    from recsys.data.dataset import Dataset
    from recsys.data.frames import catalogue_from_ratings
    from recsys.data.schema import WHOLE_STARS

    late = ratings.assign(timestamp=ratings["timestamp"] // DAY * DAY * 1000)  # milliseconds
    split = temporal_split(late)
    assert split.info["cutoff"] == "36996-01-17" and len(split.test) == 20  # the last "day"
    summary = Dataset(late, catalogue_from_ratings(late), WHOLE_STARS).describe()
    assert (summary["first_rating"], summary["last_rating"]) == ("36971-05-28", "36996-01-17")
