"""closest_raters and nearest_users against a plain reference written from SPEC §3's words."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recsys.features.closest as closest_module
import recsys.features.closest.planning as planning
from recsys.data.interactions import Interactions
from recsys.data.vocabulary import Vocabulary
from recsys.features.closest import (
    closest_raters,
    expecting,
    grouping,
    nearest_users,
    reusing,
)
from recsys.features.closest.by_movie import rating_values
from recsys.features.closest.by_user import _short_sums, narrow_packing
from recsys.features.closest.hot_rows import hot_rows

# The module, not the function `recsys.features.closest` exports under its name.
hot_rows_module = importlib.import_module("recsys.features.closest.hot_rows")

# Few distinct values, so that equal distances (ties) are common.
VALUES = (1.0, 2.0, 2.5, 4.0)


def history_of(table: dict[tuple[int, int], float], n_users: int, n_items: int) -> Interactions:
    """An Interactions over users 0..n_users-1 and items 0..n_items-1 (some may rate nothing)."""
    pairs = sorted(table)
    frame = pd.DataFrame(
        {
            "user_id": np.array([u for u, _ in pairs], np.int64),
            "item_id": np.array([i for _, i in pairs], np.int64),
            "rating": np.array([table[p] for p in pairs], np.float32),
            "timestamp": np.arange(len(pairs), dtype=np.int64),
        }
    )
    return Interactions.from_ratings(
        frame, Vocabulary(np.arange(n_users)), Vocabulary(np.arange(n_items))
    )


def rows_of(table: dict[tuple[int, int], float]) -> dict[int, dict[int, float]]:
    rows: dict[int, dict[int, float]] = {}
    for (u, i), r in table.items():
        rows.setdefault(u, {})[i] = float(np.float32(r))
    return rows


def spec_distance(rows, u: int, v: int, excluded: int | None) -> tuple[float, int]:
    """d(u, v) and c over the movies both rated, other than ``excluded``: SPEC §3 verbatim."""
    mine, theirs = rows.get(u, {}), rows.get(v, {})
    common = (set(mine) & set(theirs)) - {excluded}
    c = len(common)
    s = sum(abs(mine[i] - theirs[i]) for i in common)
    d = 3 * s / c if c >= 3 else s + 3.5 * (3 - c)
    return d, c


def reference_closest(table, u: int, m: int, n: int, candidates=None):
    """[(rating of m, distance, rater)] of the n nearest raters, nearest first."""
    if u < 0 or m < 0:
        return []
    rows = rows_of(table)
    raters = [v for v in sorted(rows) if m in rows[v] and v != u]  # R(m)
    if candidates is not None:
        raters = [v for v in raters if v in candidates]
    ranked = []
    for v in raters:
        d, c = spec_distance(rows, u, v, excluded=m)
        ranked.append((d, -c, v, rows[v][m]))
    ranked.sort()
    return [(r, d, v) for d, _, v, r in ranked[:n]]


def as_arrays(expected: list[list[tuple[float, float, int]]], n: int):
    ratings = np.full((len(expected), n), np.nan, np.float32)
    distances = np.full((len(expected), n), np.nan, np.float32)
    raters = np.full((len(expected), n), -1, np.int32)
    for t, row in enumerate(expected):
        for k, (r, d, v) in enumerate(row):
            ratings[t, k], distances[t, k], raters[t, k] = r, d, v
    return ratings, distances, raters


def assert_matches(result, expected, n: int) -> None:
    ratings, distances, raters = as_arrays(expected, n)
    np.testing.assert_array_equal(result.raters, raters)
    np.testing.assert_array_equal(result.ratings, ratings)
    np.testing.assert_array_equal(result.distances, distances)


@st.composite
def histories(draw, max_users: int = 7, max_items: int = 7):
    n_users = draw(st.integers(1, max_users))
    n_items = draw(st.integers(1, max_items))
    cells = draw(
        st.lists(
            st.one_of(st.none(), st.sampled_from(VALUES)),
            min_size=n_users * n_items,
            max_size=n_users * n_items,
        )
    )
    table = {
        (k // n_items, k % n_items): r for k, r in enumerate(cells) if r is not None
    }  # fmt: skip
    return table, n_users, n_items


@st.composite
def histories_and_targets(draw):
    table, n_users, n_items = draw(histories())
    outside = draw(
        st.lists(st.tuples(st.integers(-1, n_users - 1), st.integers(-1, n_items - 1)), max_size=10)
    )
    targets = sorted(table) + outside  # in-history targets and others, unknown ids included
    return table, n_users, n_items, targets


def run(table, n_users, n_items, targets, **kwargs):
    history = history_of(table, n_users, n_items)
    user = np.array([u for u, _ in targets], np.int32)
    item = np.array([m for _, m in targets], np.int32)
    return closest_raters(history, user, item, **kwargs)


GROUPINGS = (None, "user", "movie")  # the estimate's choice, and each grouping forced


@settings(max_examples=300, deadline=None)
@given(histories_and_targets(), st.integers(1, 5), st.sampled_from(GROUPINGS))
def test_matches_the_spec_on_random_histories(case, n, group_by):
    table, n_users, n_items, targets = case
    result = run(table, n_users, n_items, targets, n=n, group_by=group_by)
    assert_matches(result, [reference_closest(table, u, m, n) for u, m in targets], n)


# Hot rows built (dense prefixes ending at multiples of 8 labels, or all labels or none), or
# the history's listing.
LISTINGS = [(0, 8), (0, 4096), (10**9, 4096)]


@pytest.mark.parametrize("payback, dense_step", LISTINGS)
@pytest.mark.parametrize("group_by", GROUPINGS)
@pytest.mark.parametrize("n_items", [25, 600])
def test_matches_the_spec_on_a_bigger_history(group_by, n_items, payback, dense_step, monkeypatch):
    """Enough users for every parallel chunk to hold several, rows long enough for c >= 3;
    enough targets of one movie to cut it into pieces when grouped by movie. With 600 movies
    (a few popular, most rated by a few) a movie's raters are too sparse for bitmaps, so
    grouped by movie every target is scored in lanes, as on the full Netflix set."""
    monkeypatch.setattr(planning, "HOT_ROWS_PAYBACK", payback)
    monkeypatch.setattr(hot_rows_module, "DENSE_STEP", dense_step)
    rng = np.random.default_rng(7)
    n_users = 80
    rated = rng.random((n_users, n_items)) < np.minimum(0.35, 3 / np.arange(1, n_items + 1))
    values = rng.choice(np.arange(1, 11) / 2, size=(n_users, n_items))
    table = {(u, i): float(values[u, i]) for u, i in np.argwhere(rated).tolist()}
    targets = sorted(table)[::3] + [(int(u), 0) for u in rng.integers(0, n_users, 150)]
    pairs = np.c_[rng.integers(0, n_users, 100), rng.integers(0, n_items, 100)]
    targets += [(int(u), int(m)) for u, m in pairs]
    result = run(table, n_users, n_items, targets, group_by=group_by)
    assert_matches(result, [reference_closest(table, u, m, 4) for u, m in targets], 4)


@pytest.mark.parametrize("payback", [0, 10**9])  # hot rows built, or the history's listing
def test_users_whose_sums_need_64_bits_match_the_spec(monkeypatch, payback):
    """Users with more ratings than 32-bit sums hold keep 64-bit ones, in the same run as the
    others: with the limit set to 5 ratings (their 2s < 2^6) both widths serve the targets of
    one history, whose far-apart ratings would overflow 6 bits for the others; over hot rows
    and over the history's own listing."""
    monkeypatch.setattr(closest_module, "narrow_packing", lambda spread: (5, 6))
    monkeypatch.setattr(planning, "HOT_ROWS_PAYBACK", payback)
    rng = np.random.default_rng(11)
    n_users, n_items = 60, 40
    rated = rng.random((n_users, n_items)) < np.linspace(0.05, 0.5, n_users)[:, None]
    values = rng.choice([0.5, 1.0, 4.5, 5.0], size=(n_users, n_items))
    table = {(u, i): float(values[u, i]) for u, i in np.argwhere(rated).tolist()}
    counts = rated.sum(axis=1)
    assert (counts <= 5).any() and (counts > 5).any()
    targets = sorted(table)[::2] + [(int(u), int(m)) for u, m in rng.integers(0, 40, (60, 2))]
    result = run(table, n_users, n_items, targets, group_by="user")
    assert_matches(result, [reference_closest(table, u, m, 4) for u, m in targets], 4)


@pytest.mark.parametrize("dense_step", [1, 8, 4096])
def test_hot_rows_hold_each_rating_once_in_a_dense_row_or_a_run(monkeypatch, dense_step):
    """Every rating of the history is in its movie's run at its level, at its rater's label;
    a movie's raters labelled below its dense prefix's end are in its dense row (twice the
    rating + 1), the others in the runs' tails, and labels that did not rate it are 0."""
    monkeypatch.setattr(hot_rows_module, "DENSE_STEP", dense_step)
    rng = np.random.default_rng(3)
    n_users, n_items = 300, 50
    rated = rng.random((n_users, n_items)) < np.linspace(0.9, 0.01, n_users)[:, None] * np.linspace(
        1, 0.05, n_items
    )
    stars = rng.choice(np.arange(0, 11) / 2, size=(n_users, n_items))
    table = {(u, i): float(stars[u, i]) for u, i in np.argwhere(rated).tolist()}
    history = history_of(table, n_users, n_items)
    doubled = closest_module._doubled_ratings(history)[0]
    values = rating_values(doubled)
    csr_u = history.by_user
    rows = hot_rows(csr_u.indptr, csr_u.indices, doubled, n_items, values)
    levels, ends = len(values), np.diff(rows.dense_at)
    seen = np.zeros((n_users, n_items), np.int64)  # 2r + 1 found, by user and movie
    for i in range(n_items):
        row = rows.dense[rows.dense_at[i] : rows.dense_at[i + 1]]
        seen[rows.user_of[: ends[i]], i] = row
        for level in range(levels):
            b = i * levels + level
            labels = rows.users[rows.runs[b] : rows.runs[b + 1]]
            assert np.all(np.diff(labels) > 0)
            assert rows.tails[b] - rows.runs[b] == np.count_nonzero(labels < ends[i])
            tail = rows.users[rows.tails[b] : rows.runs[b + 1]]
            assert np.all(row[labels[labels < ends[i]]] == values[level] + 1)
            seen[rows.user_of[tail], i] += values[level] + 1
    assert np.array_equal(seen, np.where(rated, 2 * stars + 1, 0))
    assert ((ends > 0) & (ends < n_users)).any() or dense_step > n_users
    assert (ends == 0).any() and (ends > 0).any()


@pytest.mark.parametrize("spread", range(128))
def test_short_sums_hold_every_row_they_take(spread):
    bits, every = _short_sums(spread)
    assert every * spread < 1 << bits and every < 1 << (16 - bits)
    assert every >= 16


def test_many_dense_rows_pour_their_16_bit_sums_again_and_again(monkeypatch):
    """Users who rated 150 movies rated by nearly everyone: over hot rows every movie has a
    dense row, more than the 63 a 16-bit sum takes on a 0.5-5 scale, so the sums are poured
    into the packed ones several times a block."""
    monkeypatch.setattr(planning, "HOT_ROWS_PAYBACK", 0)
    rng = np.random.default_rng(21)
    n_users, n_items = 90, 150
    rated = rng.random((n_users, n_items)) < 0.9
    values = rng.choice(np.arange(1, 11) / 2, size=(n_users, n_items))
    table = {(u, i): float(values[u, i]) for u, i in np.argwhere(rated).tolist()}
    assert _short_sums(9)[1] < rated.sum(axis=1).min()
    targets = [*[pair for pair in sorted(table) if pair[0] < 4][::2], (4, 0), (5, 1)]
    result = run(table, n_users, n_items, targets, group_by="user")
    assert_matches(result, [reference_closest(table, u, m, 4) for u, m in targets], 4)


@pytest.mark.parametrize("spread", [0, 1, 8, 9, 18, 127])
def test_narrow_packing_keeps_every_sum_of_its_users_in_32_bits(spread):
    narrow, shift = narrow_packing(spread)
    assert narrow >= 4095
    assert spread * narrow < 1 << shift  # twice s of a user with `narrow` ratings fits below
    assert (narrow << shift) + spread * narrow < 1 << 32  # and c above it


@pytest.mark.parametrize("group_by", GROUPINGS)
def test_matches_the_spec_where_raters_agree(group_by):
    """Two close values and long rows: many raters give u's rating to every movie they share
    with u, so grouped by movie most targets are settled by the agreement search (nearest
    raters at d = 0, or 3.5 · (3 - c) for users with fewer than three other movies), and the
    rest by the full walk; users with no other movie, one, two and many are all targets.
    Every rating is a target (about 90 a movie), so the movies are searched, not scored in
    lanes, as on the 100-movie sample."""
    rng = np.random.default_rng(11)
    n_users, n_items = 300, 12
    rated = rng.random((n_users, n_items)) < rng.uniform(0.05, 0.6, (n_users, 1))
    values = rng.choice([3.0, 3.0, 3.0, 4.0], size=(n_users, n_items))
    table = {(u, i): float(values[u, i]) for u, i in np.argwhere(rated).tolist()}
    targets = sorted(table) + [(int(u), int(m)) for u, m in rng.integers(0, 12, (150, 2))]
    result = run(table, n_users, n_items, targets, group_by=group_by)
    assert_matches(result, [reference_closest(table, u, m, 4) for u, m in targets], 4)


@pytest.mark.parametrize("payback, dense_step", LISTINGS)
def test_the_near_search_settles_ties_at_distance_0_by_common_count(
    monkeypatch, payback, dense_step
):
    """Users 0 and 1 rate all 40 movies, and their targets' scans are long, so the near search
    serves them: most raters agree with user 0 on all they share (distance 0, ranked by common
    count, then id), and user 1's ratings are random (nearest raters at distances above 0,
    found in the bands or the scans of R(m)). Each movie is a target twice, and user 2 (three
    ratings) is served by plain scans in the same run."""
    monkeypatch.setattr(planning, "HOT_ROWS_PAYBACK", payback)
    monkeypatch.setattr(hot_rows_module, "DENSE_STEP", dense_step)
    rng = np.random.default_rng(5)
    n_users, n_items = 400, 40
    table = {(0, i): float(rng.choice([3.0, 4.0])) for i in range(n_items)}
    table |= {(1, i): float(rng.integers(1, 6)) for i in range(n_items)}
    table |= {(2, i): 3.0 for i in range(3)}
    for v in range(3, n_users):
        for i in rng.choice(n_items, rng.integers(3, 16), replace=False).tolist():
            agree = rng.random() < 0.85
            table[(v, i)] = table[(0, i)] if agree else float(rng.integers(1, 6))
    targets = [(u, m) for u in (0, 1) for m in range(n_items)] * 2 + [(2, m) for m in range(6)]
    result = run(table, n_users, n_items, targets, group_by="user")
    expected = {pair: reference_closest(table, *pair, 4) for pair in set(targets)}
    assert_matches(result, [expected[pair] for pair in targets], 4)
    assert (result.distances[:n_items] == 0).mean() > 0.5  # ties at 0 settle most of user 0's


def test_a_look_at_the_nearest_co_raters_first_still_finds_raters_with_nothing_in_common():
    """Grouped by user, long scans first look at u's nearest co-raters only. Here every
    co-rater of u's one movie is 4 stars away (distance 11), so the raters of the targets who
    share nothing with u (10.5) are nearer than all of them, though never looked at first."""
    table = {(0, 0): 1.0} | {(v, 0): 5.0 for v in range(1, 11)}
    table |= {(v, m): 3.0 for v in range(1, 20) for m in range(1, 6)}
    targets = [(0, m) for m in range(1, 6)]
    result = run(table, 20, 6, targets, group_by="user")
    assert_matches(result, [reference_closest(table, u, m, 4) for u, m in targets], 4)
    assert (result.raters == [11, 12, 13, 14]).all() and (result.distances == 10.5).all()


@pytest.mark.parametrize("group_by", GROUPINGS)
def test_sums_of_many_far_apart_ratings(group_by):
    """Raters 9 half-stars from u on up to 120 movies (2s up to 1,080, far past a byte), and
    lane blocks of every width. On 2 threads the plan cuts a movie's targets into pieces of a
    sixteenth of all targets (259 here), and the lanes take 256 at a time: movie 0's 3,900
    targets (each user's 13 times) go in blocks of 256 and 3 lanes (widths 256 and 64), movie
    1's 100 in one of 128, movie 2's 150 in one of 192. A catalogue of 12,000 movies, most
    never rated, makes the raters too sparse for bitmaps, as on the full Netflix set."""
    rng = np.random.default_rng(3)
    n_users, n_items = 300, 12_000
    table = {}
    for u in range(n_users):
        low = u % 2 == 0  # half of the users rate 0.5, the other half 5.0
        for i in rng.choice(np.arange(1, 121), rng.integers(0, 120), replace=False).tolist():
            table[(u, i)] = 0.5 if low else 5.0
        if not low and rng.random() < 0.3:  # movie 0's raters are far from every low user
            table[(u, 0)] = float(rng.choice([0.5, 5.0]))
    targets = [(u, 0) for u in range(n_users)] * 13 + [(u, 1) for u in range(100)]
    targets += [(u, 2) for u in range(150)]
    result = run(table, n_users, n_items, targets, group_by=group_by)
    expected = {pair: reference_closest(table, *pair, 4) for pair in set(targets)}
    assert_matches(result, [expected[pair] for pair in targets], 4)


def test_the_plan_groups_by_what_the_targets_share():
    """One user's every movie shares one sweep: by user. Every user's target at one movie
    shares one listing of its raters: by movie. Off the half-star grid: by user."""
    rng = np.random.default_rng(7)
    n_users, n_items = 400, 30
    rated = rng.random((n_users, n_items)) < 0.3
    values = rng.choice(np.arange(1, 11) / 2, size=(n_users, n_items))
    table = {(u, i): float(values[u, i]) for u, i in np.argwhere(rated).tolist()}
    history = history_of(table, n_users, n_items)
    assert grouping(history, np.zeros(n_items, int), np.arange(n_items)) == "user"
    everyone = np.arange(n_users)
    assert grouping(history, everyone, np.zeros(n_users, int)) == "movie"
    off_grid = history_of({pair: r * 1.3 for pair, r in table.items()}, n_users, n_items)
    assert grouping(off_grid, everyone, np.zeros(n_users, int)) == "user"
    assert grouping(history, np.array([-1]), np.array([0])) == "user"  # nothing to walk


def test_hand_computed_example():
    """Target (0, 0). Over items 1..4 (item 0 is the target, never compared):
    user 1: C = {1, 2}, s = 0.5 + 0.5 = 1        → c = 2: d = 1 + 3.5 · 1 = 4.5
    user 2: C = {1, 2, 3, 4}, s = 1 + 1 = 2       → d = 3 · 2 / 4 = 1.5
    user 3: C = {1, 2, 3}, s = 3 · 0.5 = 1.5      → d = 3 · 1.5 / 3 = 1.5 (fewer common: after 2, 4)
    user 4: C = {1, 2, 3, 4}, s = 2               → d = 1.5, c = 4: tie with user 2, larger index
    user 5: C = {}                                → d = 0 + 3.5 · 3 = 10.5 (fifth: cut at n = 4)
    """
    table = {
        (0, 0): 5.0, (0, 1): 3.0, (0, 2): 3.0, (0, 3): 3.0, (0, 4): 3.0,
        (1, 0): 4.0, (1, 1): 3.5, (1, 2): 2.5,
        (2, 0): 2.0, (2, 1): 4.0, (2, 2): 4.0, (2, 3): 3.0, (2, 4): 3.0,
        (3, 0): 1.0, (3, 1): 3.5, (3, 2): 3.5, (3, 3): 3.5,
        (4, 0): 3.0, (4, 1): 5.0, (4, 2): 3.0, (4, 3): 3.0, (4, 4): 3.0,
        (5, 0): 0.5,
    }  # fmt: skip
    result = run(table, 6, 5, [(0, 0)])
    np.testing.assert_array_equal(result.raters, [[2, 4, 3, 1]])
    np.testing.assert_array_equal(result.ratings, np.float32([[2.0, 3.0, 1.0, 4.0]]))
    np.testing.assert_array_equal(result.distances, np.float32([[1.5, 1.5, 1.5, 4.5]]))

    # u's own rating of m is never used: the same with (0, 0) out of the history.
    without = {k: r for k, r in table.items() if k != (0, 0)}
    again = run(without, 6, 5, [(0, 0)])
    np.testing.assert_array_equal(again.raters, result.raters)
    np.testing.assert_array_equal(again.distances, result.distances)

    wide = run(table, 6, 5, [(0, 0)], n=6)  # all five raters of m, then padding
    np.testing.assert_array_equal(wide.raters, [[2, 4, 3, 1, 5, -1]])
    np.testing.assert_array_equal(wide.distances, [[1.5, 1.5, 1.5, 4.5, 10.5, np.nan]])
    np.testing.assert_array_equal(wide.ratings, [[2.0, 3.0, 1.0, 4.0, 0.5, np.nan]])

    users, distances, common = nearest_users(history_of(table, 6, 5), 0)
    # Over every common movie, item 0 included: user 1 c=3 s=2 → 2; user 4 c=5 s=4 → 2.4;
    # user 2 c=5 s=5 → 3; user 3 c=4 s=5.5 → 4.125; user 5 c=1 s=4.5 → 4.5 + 7 = 11.5.
    np.testing.assert_array_equal(users, [1, 4, 2, 3, 5])
    np.testing.assert_array_equal(distances, np.float32([2.0, 2.4, 3.0, 4.125, 11.5]))
    np.testing.assert_array_equal(common, [3, 5, 5, 4, 1])


def test_unknown_ids_and_empty_inputs_get_no_raters():
    table = {(0, 0): 3.0, (1, 0): 4.0, (1, 1): 2.0}
    result = run(table, 3, 2, [(-1, 0), (0, -1), (-1, -1), (2, 0)])
    np.testing.assert_array_equal(result.raters, [[-1] * 4, [-1] * 4, [-1] * 4, [0, 1, -1, -1]])
    assert np.isnan(result.ratings[:3]).all() and np.isnan(result.distances[:3]).all()
    # User 2 is known but rated nothing: c = 0 with everyone, d = 10.5, ties by index.
    np.testing.assert_array_equal(result.distances[3, :2], [10.5, 10.5])
    empty = run(table, 3, 2, [])
    assert empty.raters.shape == empty.ratings.shape == empty.distances.shape == (0, 4)
    assert empty.ratings.dtype == np.float32 and empty.raters.dtype == np.int32


def test_rejects_bad_arguments():
    history = history_of({(0, 0): 3.0}, 2, 2)
    one = np.zeros(1, np.int32)
    with pytest.raises(ValueError, match="n must be"):
        closest_raters(history, one, one, n=0)
    with pytest.raises(ValueError, match="max_candidates"):
        closest_raters(history, one, one, max_candidates=0)
    with pytest.raises(ValueError, match="group_by must be"):
        closest_raters(history, one, one, group_by="item")
    with pytest.raises(ValueError, match="half-star grid"):
        closest_raters(history_of({(0, 0): 3.3}, 2, 2), one, one, group_by="movie")
    with pytest.raises(ValueError, match="half-star grid"):
        closest_raters(history, one, one, group_by="movie", max_candidates=2)
    with pytest.raises(ValueError, match="item indices"):
        closest_raters(history, one, one + 2)
    with pytest.raises(ValueError, match="users but"):
        closest_raters(history, one, np.zeros(2, np.int32))
    with pytest.raises(ValueError, match="outside"):
        nearest_users(history, 2)


def capped_candidates(table, u: int, m: int, cap: int) -> set[int]:
    """The cap raters of m other than u with the most ratings (ties: smaller index)."""
    rows = rows_of(table)
    raters = [v for v in sorted(rows) if m in rows[v] and v != u]
    return set(sorted(raters, key=lambda v: (-len(rows[v]), v))[:cap])


@settings(max_examples=200, deadline=None)
@given(histories_and_targets(), st.integers(1, 4), st.integers(1, 4))
def test_capped_candidates_are_the_most_active_raters(case, n, cap):
    table, n_users, n_items, targets = case
    result = run(table, n_users, n_items, targets, n=n, max_candidates=cap)
    expected = [
        reference_closest(table, u, m, n, capped_candidates(table, u, m, cap)) for u, m in targets
    ]
    assert_matches(result, expected, n)
    exact = run(table, n_users, n_items, targets, n=n)
    for t, (u, m) in enumerate(targets):  # a subset of R(m), with the exact distances
        chosen = set(result.raters[t][result.raters[t] >= 0].tolist())
        assert chosen <= capped_candidates(table, u, m, cap)
        if exact.raters[t, 0] >= 0:
            assert result.distances[t, 0] >= exact.distances[t, 0]


@settings(max_examples=100, deadline=None)
@given(histories_and_targets(), st.integers(1, 5))
def test_a_cap_above_every_movies_raters_is_exact(case, n):
    table, n_users, n_items, targets = case
    exact = run(table, n_users, n_items, targets, n=n)
    capped = run(table, n_users, n_items, targets, n=n, max_candidates=n_users)
    for name in ("raters", "ratings", "distances"):
        np.testing.assert_array_equal(getattr(capped, name), getattr(exact, name))


def reference_nearest(table, u: int, n: int):
    rows = rows_of(table)
    ranked = []
    for v in sorted(rows):
        if v != u and set(rows[v]) & set(rows.get(u, {})):
            d, c = spec_distance(rows, u, v, excluded=None)
            ranked.append((d, -c, v))
    ranked.sort()
    return ranked[:n]


@settings(max_examples=150, deadline=None)
@given(histories(), st.data(), st.integers(1, 8))
def test_nearest_users_matches_the_spec(case, data, n):
    table, n_users, n_items = case
    u = data.draw(st.integers(-1, n_users - 1))
    users, distances, common = nearest_users(history_of(table, n_users, n_items), u, n)
    expected = reference_nearest(table, u, n) if u >= 0 else []
    np.testing.assert_array_equal(users, np.int32([v for _, _, v in expected]))
    np.testing.assert_array_equal(distances, np.float32([d for d, _, _ in expected]))
    np.testing.assert_array_equal(common, np.int32([-c for _, c, _ in expected]))
    assert users.dtype == np.int32 and distances.dtype == np.float32 and common.dtype == np.int32


@settings(max_examples=60, deadline=None)
@given(histories_and_targets(), st.integers(1, 4))
def test_ratings_off_the_half_star_grid_take_the_float_path_and_match(case, n):
    """Half-star data runs on packed integer sums; other values (0.3 steps here) on float
    sums: both must give the SPEC's answer."""
    table, n_users, n_items, targets = case
    table = {pair: r * 1.3 for pair, r in table.items()}
    result = run(table, n_users, n_items, targets, n=n)
    assert_matches(result, [reference_closest(table, u, m, n) for u, m in targets], n)


def test_a_capped_history_of_many_distinct_ratings_matches_the_spec():
    """More distinct ratings than a byte codes: the pool's rows take two bytes a movie."""
    rng = np.random.default_rng(5)
    cells = rng.random((60, 12)) < 0.6
    values = np.round(rng.uniform(0, 2000, cells.sum()), 0) / 7  # about 400 distinct values
    table = {(int(u), int(i)): float(r) for (u, i), r in zip(np.argwhere(cells), values,
                                                              strict=True)}  # fmt: skip
    assert len(set(table.values())) > 255
    targets = [*sorted(table)[::3], (0, 5), (59, 11)]
    for cap in (1, 3, 60):
        result = run(table, 60, 12, targets, n=4, max_candidates=cap)
        expected = [reference_closest(table, u, m, 4, capped_candidates(table, u, m, cap))
                    for u, m in targets]  # fmt: skip
        assert_matches(result, expected, 4)


def test_reusing_answers_a_repeated_question_once():
    table = {(0, 0): 4.0, (1, 0): 2.0, (1, 1): 3.0, (2, 1): 4.0, (2, 0): 1.0}
    history = history_of(table, 3, 2)
    user, item = np.array([0, 1, 2]), np.array([0, 1, 1])
    with reusing():
        first = closest_raters(history, user, item)
        assert closest_raters(history, user.copy(), item.copy()) is first
        assert closest_raters(history, user, item, n=2) is not first  # other options
        assert closest_raters(history, user[:2], item[:2]) is not first  # other targets
        other = history_of(table, 3, 2)
        assert closest_raters(other, user, item) is not first  # another history
    again = closest_raters(history, user, item)
    assert again is not first  # outside the block nothing is kept
    np.testing.assert_array_equal(again.raters, first.raters)


def test_targets_expected_ahead_are_found_with_a_history_s_own_ratings_and_served_later():
    """Within `expecting`, the call for every rating of a history also finds the announced
    targets (raw ids, an unknown one included); later calls for some of them, in any order,
    get the same answers as computing them afresh; a call with one target not announced, or
    over another history, is computed afresh."""
    rng = np.random.default_rng(9)
    n_users, n_items = 120, 30
    rated = rng.random((n_users, n_items)) < 0.3
    table = {(u, i): float(rng.choice(VALUES)) for u, i in np.argwhere(rated).tolist()}
    history = history_of(table, n_users, n_items)
    ahead_users = np.r_[rng.integers(0, n_users, 200), 10**6]  # an unknown user too
    ahead_items = np.r_[rng.integers(0, n_items, 200), 3]
    fresh = closest_raters(history, history.user, history.item)
    with expecting(ahead_users, ahead_items) as ahead:
        own = closest_raters(history, history.user, history.item)
        assert ahead.answer is not None and ahead.history is history
        wanted = rng.permutation(len(ahead_users))[:150]
        user = history.users.index(ahead_users[wanted]).astype(np.int64)
        item = history.items.index(ahead_items[wanted]).astype(np.int64)
        served = closest_raters(history, user, item)
        assert ahead.served == len(wanted)
        closest_raters(history, np.r_[user, -1], np.r_[item, 4])  # (-1, 4): not announced
        closest_raters(history_of(table, n_users, n_items), user, item)
        assert ahead.served == len(wanted)
    for got, want in ((own, fresh), (served, closest_raters(history, user, item))):
        for name in ("ratings", "distances", "raters"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    assert (served.raters[:, 0] >= 0).any()
