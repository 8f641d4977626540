"""mf's blocked grid: every rating in its cell, in the order of the plain formulation."""

from __future__ import annotations

import numpy as np

from recsys.data.interactions import Interactions
from recsys.data.synthetic import synthesize
from recsys.models import mf


def _plain_grid(history: Interactions, rng: np.random.Generator):
    """The grid as first written: int64 cells, a shuffle, a stable argsort."""
    user_block = rng.integers(0, mf.BLOCKS, history.n_users)
    item_block = rng.integers(0, mf.BLOCKS, history.n_items)
    cell = user_block[history.user] * mf.BLOCKS + item_block[history.item]
    shuffled = rng.permutation(len(history))
    order = shuffled[np.argsort(cell[shuffled], kind="stable")]
    cells = np.searchsorted(cell[order], np.arange(mf.BLOCKS**2 + 1))
    return history.user[order], history.item[order], history.rating[order], cells


def test_the_grid_is_the_plain_formulations_to_the_rating():
    history = Interactions.from_ratings(synthesize(30_000, seed=4).ratings)
    got = mf._grid(history, np.random.default_rng(7))
    want = _plain_grid(history, np.random.default_rng(7))
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    user, item, _, cells = got
    blocks = np.random.default_rng(7)
    user_block = blocks.integers(0, mf.BLOCKS, history.n_users)
    item_block = blocks.integers(0, mf.BLOCKS, history.n_items)
    assert len(user) == len(history) and cells[-1] == len(history)
    for c in range(mf.BLOCKS**2):  # each cell holds one user block's and one movie block's
        rows = slice(cells[c], cells[c + 1])
        assert {*user_block[user[rows]]} <= {c // mf.BLOCKS}
        assert {*item_block[item[rows]]} <= {c % mf.BLOCKS}
