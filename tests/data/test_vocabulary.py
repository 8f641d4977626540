"""The shared vocabulary (raw id <-> dense index) and the rating history it indexes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.data.interactions import Interactions
from recsys.data.vocabulary import Vocabulary


def test_indices_follow_the_sorted_raw_ids():
    vocab = Vocabulary(np.array([30, 10, 20, 10, 30]))
    assert len(vocab) == 3
    assert vocab.ids.tolist() == [10, 20, 30]
    assert vocab.index([20, 30, 10, 10]).tolist() == [1, 2, 0, 0]
    assert vocab.index(np.array([20])).dtype == np.int32
    assert vocab.to_ids(np.array([2, 0])).tolist() == [30, 10]


def test_unknown_ids_index_to_minus_one_and_find_none():
    vocab = Vocabulary(pd.Series([5, 7]))
    assert vocab.index([7, 6, 5, 99]).tolist() == [1, -1, 0, -1]
    assert vocab.find(7) == 1 and vocab.find(6) is None
    assert 5 in vocab and 6 not in vocab


def test_find_reads_text_ids_in_the_vocabularys_type():
    numbers = Vocabulary(np.array([1, 42, 1000]))
    assert numbers.find("42") == 1 and numbers.find(" 1000 ") == 2
    assert numbers.find("4x") is None and numbers.find("-1") is None
    words = Vocabulary(np.array(["u10", "u2", "42"], dtype=object))
    assert words.ids.tolist() == ["42", "u10", "u2"]
    assert words.find("42") == 0 and words.find(42) is None
    assert words.index(["u2", "nobody"]).tolist() == [2, -1]


def test_equal_ids_make_equal_vocabularies():
    assert Vocabulary([3, 1, 2]) == Vocabulary(np.array([1, 2, 3, 3]))
    assert Vocabulary([1, 2]) != Vocabulary([1, 2, 3])
    with pytest.raises(TypeError):
        hash(Vocabulary([1]))


def test_interactions_index_the_ratings_by_user_and_by_item():
    rng = np.random.default_rng(2)
    pairs = rng.choice(40 * 30, 300, replace=False)
    ratings = pd.DataFrame({
        "user_id": pairs // 30 * 7 + 1000, "item_id": pairs % 30 * 3,
        "rating": rng.integers(1, 6, 300).astype(np.float32), "timestamp": rng.integers(0, 99, 300),
    })  # fmt: skip
    data = Interactions.from_ratings(ratings)
    dense = np.zeros((len(data.users), len(data.items)), np.float32)  # each pair rated once
    rows, columns = data.users.index(ratings["user_id"]), data.items.index(ratings["item_id"])
    dense[rows, columns] = ratings["rating"]
    for csr, matrix in ((data.by_user, dense), (data.by_item, dense.T)):
        assert csr.counts.tolist() == (matrix > 0).sum(axis=1).tolist()
        for row in range(len(matrix)):
            columns = csr.indices[csr.row(row)]
            assert columns.tolist() == np.flatnonzero(matrix[row]).tolist()  # sorted
            assert csr.ratings[csr.row(row)].tolist() == matrix[row, columns].tolist()
    # rating_of finds each rating, and NaN for a pair never rated or an unknown index.
    found = data.rating_of(data.user, data.item)
    np.testing.assert_array_equal(found, ratings["rating"].to_numpy())
    empty = np.argwhere(dense == 0)[:5]
    assert np.isnan(data.rating_of(empty[:, 0], empty[:, 1])).all()
    assert np.isnan(data.rating_of(np.array([-1]), np.array([0])))[0]
    # A subset keeps the vocabularies, so indices mean the same thing.
    half = data.subset(np.arange(300) % 2 == 0)
    assert half.users == data.users and half.items == data.items and len(half) == 150
    with pytest.raises(ValueError, match="outside the given vocabularies"):
        Interactions.from_ratings(ratings, users=Vocabulary([1000]))
