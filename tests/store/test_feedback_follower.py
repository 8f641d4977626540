"""`Feedback`, the service's in-memory copy of the store, against the store itself: after any
mix of writes, overwrites, older writes and deletions, from itself or from another writer it
follows by polling, it holds exactly the store's rows and counts exactly its ratings."""

from __future__ import annotations

import numpy as np

from recsys.service.feedback import Feedback


def held(feedback: Feedback, user: str) -> dict:
    return {r.movie_id: (r.rating, r.timestamp, r.seq) for r in feedback.of(user)}


def stored(store, user: str) -> dict:
    return {r.movie_id: (r.rating, r.timestamp, r.seq) for r in store.user(user)}


def test_the_copy_equals_the_store_after_random_writes_and_deletions(store):
    feedback = Feedback(store)
    other = Feedback(store)  # another replica: it only polls
    rng = np.random.default_rng(3)
    users = [str(u) for u in range(12)]
    for _ in range(300):
        user = users[int(rng.integers(len(users)))]
        movie = str(int(rng.integers(20)))
        if rng.random() < 0.2:
            feedback.delete(user, movie, int(rng.integers(100)))
        else:
            # distinct movies, as the API sends them (a request's duplicates merge first)
            movies = rng.choice(20, int(rng.integers(1, 5)), replace=False)
            rows = [(str(int(m)), float(rng.integers(1, 11)) / 2, int(rng.integers(100)))
                    for m in movies]  # fmt: skip
            feedback.write(user, rows)
    other.refresh()
    for user in users:
        assert held(feedback, user) == stored(store, user) == held(other, user)
    assert feedback.count() == other.count() == store.count()
    assert feedback.seq == other.seq == store.last_seq()


def test_rows_newer_than_a_watermark_come_in_seq_order_with_deletions_as_none(store):
    feedback = Feedback(store)
    feedback.write("7", [("1", 4.0, 10), ("2", 3.5, 10)])
    mark = feedback.seq
    feedback.write("7", [("2", 2.0, 20), ("3", 5.0, 20)])
    feedback.delete("7", "1", 30)
    rows = feedback.of("7", after_seq=mark)
    assert [(r.movie_id, r.rating, r.timestamp) for r in rows] == [
        ("2", 2.0, 20), ("3", 5.0, 20), ("1", None, 30)
    ]
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)
    assert feedback.count() == 2 and feedback.of("8") == []
