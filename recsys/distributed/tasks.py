"""What runs on the workers: plain functions of plain data (models, histories, arrays), each
calling the models' own code, so a cluster computes what one machine computes."""

from __future__ import annotations

import copy

import numpy as np

from recsys.data.interactions import Interactions
from recsys.models.mf import BLOCKS, _epoch


def with_state(shell, **state):
    """A copy of a model's stripped shell with its large state put back (on the worker)."""
    model = copy.copy(shell)
    for key, value in state.items():
        setattr(model, key, value)
    return model


def fold_history(history: Interactions, fold: np.ndarray, f: int) -> Interactions:
    """The training ratings outside fold ``f`` (what the blend's fold-``f`` bases learn from)."""
    return history.subset(fold != f)


def fit_bases(shell, data, history: Interactions) -> dict:
    return shell._fit_bases(data, history)


def history_biases(shell, history: Interactions):
    """The damped biases the blend's activity features read, once per history."""
    return with_state(shell, history_=history, _history_biases=None)._biases(history)


def blend_block(shell, history, biases, bases, targets: Interactions, rows: np.ndarray):
    """The blend's features (base predictions included) of targets ``rows``, from ``history``
    and ``bases``; the target ratings in the last column."""
    model = with_state(shell, history_=history, _history_biases=biases)
    user, item = targets.user[rows], targets.item[rows]
    features = model._features(history, bases, user, item, targets.timestamp[rows])
    return np.column_stack([features, targets.rating[rows]]).astype(np.float32)


def seed_block(shell, history: Interactions, rows: np.ndarray):
    """The seed model's five features of training targets ``rows``, the rating last."""
    model = with_state(shell, history_=history)
    features = model._features(history.user[rows], history.item[rows])
    return np.column_stack([features, history.rating[rows]]).astype(np.float32)


def take(block: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return block[rows]


def predict_block(model, user: np.ndarray, item: np.ndarray, timestamps: np.ndarray):
    return model._predict(user, item, timestamps)


def add_scores(forest, block: np.ndarray, scores: np.ndarray | None) -> np.ndarray:
    """The raw scores of a block's rows after ``forest`` too (``scores`` before it, or 0)."""
    raw = forest.raw(block[:, :-1])
    return raw if scores is None else scores + raw


def staged_error(forest, block: np.ndarray, start: float) -> np.ndarray:
    from recsys.distributed.boosting import staged_squared_error

    return staged_squared_error(forest, block[:, :-1], block[:, -1], start)


class UserBlocks:
    """A Dask actor: the blocked SGD's user blocks that live on one worker (their factors and
    biases, local indices) and the ratings of their cells. `round` runs round s of the grid —
    the cell (b, (b + s) mod BLOCKS) of each of its blocks b, in order of b — through
    `mf._epoch` itself, on the movie blocks the client sends, and sends them back updated."""

    def __init__(self, blocks: dict, cells: dict, mean, lr, reg, reg_bias) -> None:
        self.blocks = {b: (P.copy(), b_u.copy()) for b, (P, b_u) in blocks.items()}
        self.cells = cells  # (b, c) -> (local users, local items, ratings)
        self.hyper = (mean, lr, reg, reg_bias)

    def round(self, s: int, movie_blocks: dict) -> dict:
        mean, lr, reg, reg_bias = self.hyper
        out = {}
        for b in sorted(self.blocks):
            c = (b + s) % BLOCKS
            P, b_u = self.blocks[b]
            Q, b_i = (a.copy() for a in movie_blocks[c])
            user, item, rating = self.cells[b, c]
            bounds = np.zeros(BLOCKS * BLOCKS + 1, np.int64)
            bounds[b * BLOCKS + c + 1 :] = len(rating)  # only this cell holds ratings
            _epoch(user, item, rating, bounds, np.array([s]), mean, P, Q, b_u, b_i, lr, reg,
                   reg_bias)  # fmt: skip
            out[c] = (Q, b_i)
        return out

    def factors(self) -> dict:
        return self.blocks
