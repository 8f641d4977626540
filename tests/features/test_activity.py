"""Activity features against a plain per-target reference: the target's own rating is left out
of every statistic."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.data.interactions import Interactions
from recsys.data.schema import DAY
from recsys.data.vocabulary import Vocabulary
from recsys.features.activity import ACTIVITY_FEATURES, activity_features
from recsys.features.bias import Biases


@st.composite
def cases(draw):
    n_users, n_items = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    cells = draw(st.lists(st.tuples(st.integers(0, n_users - 1), st.integers(0, n_items - 1),
                                    st.sampled_from([1.0, 2.5, 4.0, 5.0]), st.integers(0, 3)),
                          min_size=1, max_size=20, unique_by=lambda c: (c[0], c[1])))  # fmt: skip
    targets = draw(st.lists(st.tuples(st.integers(-1, n_users - 1), st.integers(-1, n_items - 1),
                                      st.integers(0, 3)), min_size=1, max_size=8))  # fmt: skip
    return n_users, n_items, cells, targets


def reference(frame: pd.DataFrame, biases: Biases, years, u: int, m: int, t: int) -> list[float]:
    mine = frame[(frame.user == u) & ~((frame.user == u) & (frame.item == m))]
    theirs = frame[(frame.item == m) & ~((frame.user == u) & (frame.item == m))]
    same_day = mine[mine.timestamp // DAY == t // DAY]
    base = biases.global_mean + biases.user_bias[same_day.user] + biases.item_bias[same_day.item]
    residual = same_day.rating - base
    mean = lambda s: s.mean() if len(s) else np.nan  # noqa: E731
    everything = frame[frame.user == u]
    return [
        len(mine) if u >= 0 else 0, mean(mine.rating),
        biases.user_bias[u] if u >= 0 else np.nan,
        len(theirs) if m >= 0 else 0, mean(theirs.rating),
        biases.item_bias[m] if m >= 0 else np.nan,
        1970 + t / (365.2425 * DAY) - years[m] if m >= 0 else np.nan,
        (t - everything.timestamp.min()) / DAY if len(everything) else np.nan,
        len(same_day), mean(same_day.rating), mean(residual),
    ]


@settings(max_examples=200, deadline=None)
@given(cases())
def test_matches_a_per_target_reference(case):
    n_users, n_items, cells, targets = case
    frame = pd.DataFrame(cells, columns=["user", "item", "rating", "day"])
    frame["timestamp"] = frame.pop("day") * DAY + 3600
    ratings = frame.rename(columns={"user": "user_id", "item": "item_id"})
    history = Interactions.from_ratings(
        ratings.astype({"rating": np.float32}), Vocabulary(np.arange(n_users)),
        Vocabulary(np.arange(n_items)),
    )  # fmt: skip
    biases = Biases.fit(history, user_damping=2.0, item_damping=2.0, iterations=5)
    years = np.linspace(1950, 2000, n_items)
    user = np.array([u for u, _, _ in targets], np.int32)
    item = np.array([m for _, m, _ in targets], np.int32)
    times = np.array([d * DAY + 7200 for _, _, d in targets], np.int64)
    got = activity_features(history, biases, years, user, item, times)
    assert got.shape == (len(targets), len(ACTIVITY_FEATURES))
    rows = zip(user, item, times, strict=True)
    expected = np.array([reference(frame, biases, years, u, m, t) for u, m, t in rows])
    np.testing.assert_allclose(got, expected.astype(np.float32), rtol=1e-4, atol=1e-4)
