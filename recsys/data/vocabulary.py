"""Raw ids <-> dense indices, shared by every model, and the sparse user × item matrix."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.data.schema import ITEM, RATING, USER


class Vocabulary:
    """Maps raw ids (as the source wrote them) to indices 0..n-1 and back.

    Indices follow the sorted raw ids, so the same ids always get the same indices.
    """

    def __init__(self, ids: np.ndarray | pd.Series):
        self.ids = np.unique(np.asarray(ids))
        self._index = pd.Index(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, raw_id: object) -> bool:
        return self.find(raw_id) is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and np.array_equal(self.ids, other.ids)

    __hash__ = None  # mutable-looking container: compare, don't hash

    def index(self, raw_ids: np.ndarray | pd.Series | list) -> np.ndarray:
        """Indices of many raw ids (int32); -1 where an id is unknown."""
        return self._index.get_indexer(np.asarray(raw_ids)).astype(np.int32)

    @cached_property
    def _lookup(self) -> dict:
        return {raw: i for i, raw in enumerate(self.ids.tolist())}

    def find(self, raw_id: object) -> int | None:
        """Index of one raw id, or None; a URL's "42" finds the integer id 42."""
        return self._lookup.get(self.parse(raw_id))

    def parse(self, raw_id: object) -> object:
        """A raw id given as text (a URL path, a JSON string) in the vocabulary's own type."""
        if self.ids.dtype.kind in "iu" and isinstance(raw_id, str):
            text = raw_id.strip()
            return int(text) if text.lstrip("-").isdigit() else raw_id
        return raw_id

    def to_ids(self, indices: np.ndarray) -> np.ndarray:
        return self.ids[indices]


def rating_matrix(
    ratings: pd.DataFrame, users: Vocabulary, items: Vocabulary, values: str | None = RATING
) -> sp.csr_array:
    """Users × items CSR matrix of the ratings (or of ones when ``values`` is None).

    Ratings of ids outside the vocabularies are left out; callers build the vocabularies from
    the same ratings, so nothing is lost.
    """
    rows = users.index(ratings[USER].to_numpy())
    cols = items.index(ratings[ITEM].to_numpy())
    known = (rows >= 0) & (cols >= 0)
    data = (
        ratings[values].to_numpy(np.float32)[known]
        if values
        else np.ones(int(known.sum()), np.float32)
    )
    matrix = sp.csr_array(
        (data, (rows[known], cols[known])), shape=(len(users), len(items)), dtype=np.float32
    )
    matrix.sort_indices()
    return matrix
