"""`Feedback`: the ratings written over HTTP, held in memory in step with the durable store.

The store (`recsys.store`) is the truth; this is its copy that requests read without a query.
Every change has a sequence number, and the store commits them in that order, so following it
is one indexed query for what is newer than the last number seen: a replica's own writes are
followed at once (before the write is answered), the other replicas' within a poll
(``RECSYS_FEEDBACK_POLL``). A model trained on the stored ratings (`recsys train --feedback`)
records the last number it saw; only newer ratings are folded in on top of it.

Memory: a user's rows are one packed record (`ROW`: movie number, rating, timestamp, seq; 28
bytes a row) and the movie ids one interned list, so a user with one stored rating costs about
150 bytes, not the 290 of a tuple of row objects; a long soak of new users then grows the
service by the rows it stores, not by Python objects around them.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Sequence

from recsys.store import RatingStore, StoredRating, Upserted

log = logging.getLogger(__name__)

PAGE = 10_000
ROW = struct.Struct("<idqq")  # movie number, rating (NaN: deleted), timestamp, seq


class Feedback:
    """Stored ratings per user (raw ids as text), with the store's sequence numbers."""

    def __init__(self, store: RatingStore, poll_seconds: float = 0.25):
        self.store = store
        self.poll_seconds = poll_seconds
        self.seq = 0
        self._users: dict[str, bytes] = {}  # ROW records, one per movie, in seq order
        self._movies: list[str] = []  # movie ids by the number the records hold
        self._movie_numbers: dict[str, int] = {}
        self._count = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()

    @property
    def dialect(self) -> str:
        """The kind of database ("sqlite", "postgresql"), never its address."""
        return self.store.describe().split(":", 1)[0].split("+", 1)[0]

    # -- reading ---------------------------------------------------------------------
    def of(self, user: str, after_seq: int = 0) -> list[StoredRating]:
        """A user's stored rows (deletions included) newer than ``after_seq``, in seq order."""
        movies = self._movies
        return [StoredRating(user, movies[m], None if r != r else r, t, q)
                for m, r, t, q in ROW.iter_unpack(self._users.get(user, b"")) if q > after_seq]

    def count(self) -> int:
        """Stored ratings (deletions not counted)."""
        return self._count

    # -- writing ---------------------------------------------------------------------
    def write(self, user: str, rows: Sequence[tuple[str, float, int]]) -> Upserted:
        """Store a user's ratings (committed when this returns) and follow them at once."""
        result = self.store.upsert(user, rows)
        self.refresh()
        return result

    def delete(self, user: str, movie: str, timestamp: int) -> int:
        seq = self.store.delete(user, movie, timestamp)
        self.refresh()
        return seq

    # -- following the store ---------------------------------------------------------
    def refresh(self) -> int:
        """Apply every change newer than the last one seen; returns how many."""
        applied = 0
        with self._lock:
            while True:
                changes = self.store.changes(self.seq, PAGE)
                by_user: dict[str, list[StoredRating]] = {}
                for row in changes:
                    by_user.setdefault(row.user_id, []).append(row)
                    self.seq = max(self.seq, row.seq)
                for user, new in by_user.items():
                    self._users[user] = self._merged(self._users.get(user, b""), new)
                applied += len(changes)
                if len(changes) < PAGE:
                    return applied

    def _merged(self, record: bytes, new: list[StoredRating]) -> bytes:
        """A user's record with newer changes applied, one row per movie, counting the
        ratings."""
        by_movie = {row[0]: row for row in ROW.iter_unpack(record)}
        for row in new:
            movie = self._number(row.movie_id)
            old = by_movie.pop(movie, None)  # popped: the record stays in seq order
            self._count += (row.rating is not None) - (old is not None and old[1] == old[1])
            rating = float("nan") if row.rating is None else row.rating
            by_movie[movie] = (movie, rating, row.timestamp, row.seq)
        return b"".join(ROW.pack(*row) for row in by_movie.values())

    def _number(self, movie: str) -> int:
        number = self._movie_numbers.get(movie)
        if number is None:
            number = self._movie_numbers[movie] = len(self._movies)
            self._movies.append(movie)
        return number

    def start(self) -> None:
        """Poll the store in a background thread until `stop`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._poll, name="recsys-feedback", daemon=True)
            self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception as error:  # a database hiccup must not end the polling
                log.warning("cannot read new ratings from the store: %s", type(error).__name__)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.store.close()
