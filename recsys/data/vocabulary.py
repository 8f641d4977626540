"""Raw ids <-> dense indices, shared by every model."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


class Vocabulary:
    """Maps raw ids (as the source wrote them) to indices 0..n-1 and back.

    Indices follow the sorted raw ids, so the same ids always get the same indices.
    """

    def __init__(self, ids: np.ndarray | pd.Series):
        self.ids = np.unique(np.asarray(ids))

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, raw_id: object) -> bool:
        return self.find(raw_id) is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and np.array_equal(self.ids, other.ids)

    __hash__ = None  # mutable-looking container: compare, don't hash

    def index(self, raw_ids: np.ndarray | pd.Series | list) -> np.ndarray:
        """Indices of many raw ids (int32); -1 where an id is unknown. Ids given as text find
        integer ids as `find` does ("42" finds 42)."""
        raw = np.asarray(raw_ids)
        if self.ids.dtype.kind in "iu" and raw.dtype.kind in "UO":
            raw = np.array([self.parse(x) for x in raw.ravel()], dtype=object)
        return self._index.get_indexer(raw).astype(np.int32)

    @cached_property
    def _index(self) -> pd.Index:
        import pandas as pd  # made on first use: a loaded model (the service) needs no pandas

        return pd.Index(self.ids)

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
