"""movie_eras and era_mean against a plain reference written from SPEC §3's words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.data.frames import movies_frame
from recsys.data.vocabulary import Vocabulary
from recsys.features.builder import item_years
from recsys.features.era import ERAS, era_mean, movie_eras
from tests.features.test_closest import histories, history_of

YEARS = (1950, 1969, 1970, 1989, 1990, 2005, None)  # every era's edges, and no year


def test_movie_eras_cut_at_1970_and_1990():
    years = pd.array([1969, 1970, 1989, 1990, 2015, None, 1900], dtype="Int32")
    expected = np.int8([0, 1, 1, 2, 2, -1, 0])
    np.testing.assert_array_equal(movie_eras(years), expected)
    np.testing.assert_array_equal(movie_eras(pd.Series(years)), expected)
    floats = np.array([1969.0, 1970.0, 1989.0, 1990.0, 2015.0, np.nan, 1900.0])
    eras = movie_eras(floats)
    np.testing.assert_array_equal(eras, expected)
    assert eras.dtype == np.int8 and len(ERAS) == 3


def test_item_years_follow_the_vocabulary_and_the_first_row_of_a_repeated_movie():
    movies = movies_frame([30, 10, 20, 30, 99], ["c", "a", "b", "c again", "not rated"],
                          [1975, None, 1990, 2001, 1950], [[]] * 5)  # fmt: skip
    years = item_years(Vocabulary([10, 20, 30, 40]), movies)  # 40: in no catalogue row
    np.testing.assert_array_equal(years, [np.nan, 1990.0, 1975.0, np.nan])
    text = movies.assign(item_id=movies["item_id"].map(lambda i: f"m{i}"))
    np.testing.assert_array_equal(item_years(Vocabulary(["m30", "m20"]), text), [1990.0, 1975.0])


def test_hand_computed_example():
    # Items 0, 1 before 1970; 2, 3 in 1970–1989; 4 with no year.
    item_era = movie_eras(np.array([1950.0, 1960.0, 1975.0, 1980.0, np.nan]))
    table = {(0, 0): 5.0, (0, 1): 3.0, (0, 2): 1.0, (0, 4): 4.0, (1, 3): 2.0}
    history = history_of(table, 3, 5)
    user = np.int32([0, 0, 0, 0, 1, 1, 2, -1, 0])
    item = np.int32([0, 3, 2, 4, 0, 2, 0, 0, -1])
    expected = np.float32([
        3.0,  # (0, 0) in the history: its own 5 left out, the mean of item 1 alone
        1.0,  # (0, 3) not in the history: item 2
        2.0,  # (0, 2): item 2 itself left out, no other 1970s movie → default
        2.0,  # item 4 has no year → default, even though user 0 rated it
        2.0,  # user 1 rated no pre-1970 movie
        2.0,  # (1, 2): item 3 only
        2.0, 2.0, 2.0,  # a user with no ratings, unknown user, unknown movie
    ])  # fmt: skip
    result = era_mean(history, item_era, user, item)
    np.testing.assert_array_equal(result, expected)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(
        era_mean(history, item_era, user, item, default=-1.0)[[1, 2, 8]], np.float32([1.0, -1, -1])
    )


def reference_era_mean(table, item_era, u: int, m: int, default: float) -> float:
    if u < 0 or m < 0 or item_era[m] < 0:
        return default
    same_era = [
        float(np.float32(r))
        for (v, i), r in table.items()
        if v == u and i != m and item_era[i] == item_era[m]
    ]
    return sum(same_era) / len(same_era) if same_era else default


@settings(max_examples=200, deadline=None)
@given(histories(), st.data(), st.sampled_from([2.0, 0.0, 3.5]))
def test_matches_the_spec_on_random_histories(case, data, default):
    table, n_users, n_items = case
    years = data.draw(st.lists(st.sampled_from(YEARS), min_size=n_items, max_size=n_items))
    item_era = movie_eras(pd.array(years, dtype="Int64"))
    outside = data.draw(
        st.lists(st.tuples(st.integers(-1, n_users - 1), st.integers(-1, n_items - 1)), max_size=10)
    )
    targets = sorted(table) + outside
    user = np.array([u for u, _ in targets], np.int32)
    item = np.array([m for _, m in targets], np.int32)
    result = era_mean(history_of(table, n_users, n_items), item_era, user, item, default=default)
    expected = [reference_era_mean(table, item_era, u, m, default) for u, m in targets]
    np.testing.assert_array_equal(result, np.float32(expected))


def test_rejects_an_era_array_of_the_wrong_length():
    history = history_of({(0, 0): 3.0}, 1, 2)
    with pytest.raises(ValueError, match="item_era"):
        era_mean(history, np.int8([0]), np.int32([0]), np.int32([0]))
