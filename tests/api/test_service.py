"""The service object on its own: string ids, and models of every kind through one contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.data.dataset import Dataset
from recsys.data.frames import movies_frame, ratings_frame
from recsys.data.schema import HALF_STARS
from recsys.errors import UnknownItemError, UnknownUserError
from recsys.models.registry import make_model
from recsys.service import load_artifact, save_artifact
from recsys.service.ids import IdIndex


@pytest.fixture(scope="module")
def string_ids() -> Dataset:
    rng = np.random.default_rng(7)
    users = np.array([f"user-{k:03d}" for k in range(40)], dtype=object)
    items = np.array([f"tt{k:05d}" for k in range(60)], dtype=object)
    pairs = rng.choice(40 * 60, 900, replace=False)
    ratings = ratings_frame(
        users[pairs // 60], items[pairs % 60], rng.integers(1, 11, 900) / 2, np.arange(900)
    )
    movies = movies_frame(items[:50], [f"Film {k}" for k in range(50)], [2000] * 50,
                          [["Drama"]] * 50)  # fmt: skip
    return Dataset(ratings, movies, HALF_STARS, name="strings")


@pytest.mark.parametrize("name", ["mf", "baseline"])
def test_string_ids_round_trip_and_match_the_model(tmp_path, string_ids, name):
    model = make_model(name).fit(string_ids)
    service = load_artifact(save_artifact(model, string_ids, tmp_path / name))
    ids, scores = model.recommend("user-007", 5)
    ranked = service.recommend("user-007", 5)
    assert service.items.to_ids(ranked.items) == ids.tolist()
    np.testing.assert_allclose(ranked.scores, scores, atol=1e-5)
    rating, fallback = service.predict(["user-007", "nobody", "user-001"], ["tt00003"] * 3)
    expected = model.predict(np.array(["user-007", "nobody", "user-001"], dtype=object),
                             np.array(["tt00003"] * 3, dtype=object))  # fmt: skip
    np.testing.assert_allclose(rating, expected.rating, atol=1e-5)
    assert fallback.tolist() == expected.fallback.tolist()
    movie = service.movie("tt00055")  # rated, but missing from the catalogue
    assert movie["title"] is None and movie["genres"] == [] and movie["recommendable"]
    assert service.movie("tt00001")["title"] == "Film 1"
    with pytest.raises(UnknownUserError):
        service.recommend("user-999")
    with pytest.raises(UnknownItemError):
        service.similar("tt99999")


def test_similar_movies_without_factors_are_co_rating_cosines(tmp_path, string_ids):
    model = make_model("baseline").fit(string_ids)
    service = load_artifact(save_artifact(model, string_ids, tmp_path / "baseline"))
    matrix = pd.crosstab(string_ids.ratings["user_id"], string_ids.ratings["item_id"]) > 0
    counts = matrix.sum(axis=0).to_numpy(float)
    column = matrix["tt00003"].to_numpy(float)
    cosine = (matrix.to_numpy(float).T @ column) / np.sqrt(counts * counts[3])
    ranked = service.similar("tt00003", 59)
    np.testing.assert_allclose(ranked.scores, np.sort(np.delete(cosine, 3))[::-1], atol=1e-6)


def test_id_index_parses_text_and_rejects_what_cannot_be_an_id():
    index = IdIndex(np.array([3, 10, 42], np.int32))
    assert index.find("42") == 2 and index.find(10) == 1 and index.find(np.int16(3)) == 0
    junk = [" 10 ", "+10", "010", "10.0", "1_0", "١٠", "x", "", True, 10.0, None, "9" * 40]
    assert [index.find(j) for j in junk] == [None] * len(junk)
    assert index.find(2**63) is None and index.find(str(2**63)) is None
    assert index.index([42, 7, 3, 10**30, "10"]).tolist() == [2, -1, 0, -1, 1]
    assert index.index([]).tolist() == []


def test_an_id_is_found_the_same_whatever_else_a_batch_holds():
    index = IdIndex(np.array([3, 10, 42, 2**63 - 1]))
    ids = [10, "10", "+10", " 10", True, 2**63 - 1, 2**63, "42", -3, 10.0]
    alone = [index.index([i]).tolist()[0] for i in ids]
    assert alone == [1, 1, -1, -1, -1, 3, -1, 2, -1, -1]
    assert index.index(ids).tolist() == alone
    assert index.index([i for i in ids if type(i) is int]).tolist() == [1, 3, -1, -1]


def test_text_ids_take_numbers_as_their_decimal_text():
    index = IdIndex(np.array(["10", "tt7", "x" * 300]))
    assert index.find(10) == 0 and index.find("tt7") == 1 and index.find(True) is None
    assert index.find("x" * 300) is None  # longer than any id: not an id
    assert index.canonical([10, "nope", 7], index.index([10, "nope", 7])) == ["10", "nope", "7"]
