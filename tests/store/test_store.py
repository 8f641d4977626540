"""The rating store on real SQLite files and a real PostgreSQL: upserts where the latest
timestamp wins, tombstones, change numbers in commit order under concurrent writers, migrations,
durability (close and reopen, and a writer killed mid-stream), and errors that never show a
password."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from recsys.errors import ConfigError
from recsys.store import StoredRating, Upserted, open_store
from recsys.store.schema import VERSION

ROOT = Path(__file__).resolve().parents[2]


def rows_of(store, user: str) -> dict[str, tuple[float | None, int]]:
    return {r.movie_id: (r.rating, r.timestamp) for r in store.user(user)}


def raw_engine(database) -> sa.Engine:
    """The store's database straight through SQLAlchemy, to tamper with it."""
    url = database.url or f"sqlite:///{database.state_dir / 'feedback.sqlite3'}"
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


# -- upsert ------------------------------------------------------------------------------
def test_an_empty_store(store):
    assert store.last_seq() == 0 and store.count() == 0
    assert store.user("7") == [] and store.changes(0) == []
    assert store.upsert("7", []) == Upserted(0, 0, 0)
    frame = store.frame()
    assert len(frame) == 0
    assert list(frame.columns) == ["user_id", "movie_id", "rating", "timestamp", "seq"]
    assert [str(t) for t in frame.dtypes.iloc[2:]] == ["float64", "int64", "int64"]


def test_inserts_then_the_latest_timestamp_wins_and_a_tie_replaces(store):
    first = store.upsert("7", [("1", 4.0, 100), ("2", 3.0, 100)])
    assert first == Upserted(stored=2, older=0, seq=2)
    # movie 1: older, not applied; movie 2: same timestamp, replaced; movie 3: new
    second = store.upsert("7", [("1", 1.0, 50), ("2", 5.0, 100), ("3", 2.5, 1)])
    assert (second.stored, second.older) == (2, 1)
    assert second.seq == store.last_seq() == 5
    assert rows_of(store, "7") == {"1": (4.0, 100), "2": (5.0, 100), "3": (2.5, 1)}
    third = store.upsert("7", [("1", 0.5, 101)])  # later: replaces
    assert (third.stored, third.older) == (1, 0)
    assert rows_of(store, "7")["1"] == (0.5, 101)
    assert store.count() == 3 and store.user("8") == []


def test_users_are_apart_and_a_rating_keeps_its_exact_value(store):
    store.upsert("7", [("1", 3.7, 10)])
    store.upsert("8", [("1", 2.0, 5)])  # same movie, another user: not "older"
    assert rows_of(store, "7") == {"1": (3.7, 10)} and rows_of(store, "8") == {"1": (2.0, 5)}


def test_a_batch_of_a_thousand(store):
    rows = [(str(m), 0.5 + (m % 10) / 2, 1_700_000_000 + m) for m in range(1000)]
    assert store.upsert("big", rows) == Upserted(1000, 0, 1000)
    again = store.upsert("big", [(m, r, t - 1 if int(m) % 2 else t) for m, r, t in rows])
    assert (again.stored, again.older) == (500, 500)
    stored = rows_of(store, "big")
    assert stored == {m: (r, t) for m, r, t in rows}
    assert store.count() == 1000


# -- delete ------------------------------------------------------------------------------
def test_a_deletion_is_a_tombstone_with_the_later_timestamp(store):
    store.upsert("7", [("1", 4.0, 100), ("2", 3.0, 100)])
    assert store.delete("7", "1", 50) == 3  # the stored row's later timestamp is kept
    assert store.delete("7", "2", 200) == 4  # a later one replaces it
    assert store.delete("7", "9", 70) == 5  # a training rating the store never held
    assert rows_of(store, "7") == {"1": (None, 100), "2": (None, 200), "9": (None, 70)}
    assert store.count() == 0 and store.last_seq() == 5
    assert all(isinstance(r, StoredRating) for r in store.user("7"))


def test_rating_again_after_a_deletion(store):
    store.upsert("7", [("1", 4.0, 100)])
    store.delete("7", "1", 150)
    older = store.upsert("7", [("1", 2.0, 120)])  # before the deletion: stays deleted
    assert (older.stored, older.older) == (0, 1) and rows_of(store, "7")["1"] == (None, 150)
    back = store.upsert("7", [("1", 2.0, 150)])  # a tie: the new rating wins
    assert (back.stored, back.older) == (1, 0) and rows_of(store, "7")["1"] == (2.0, 150)
    assert store.count() == 1


# -- reading -----------------------------------------------------------------------------
def test_changes_come_in_seq_order_after_a_given_seq(store):
    store.upsert("1", [("1", 4.0, 1)])  # seq 1
    store.upsert("2", [("1", 4.0, 1), ("2", 3.0, 1)])  # 2, 3
    store.upsert("1", [("1", 5.0, 2)])  # 4: user 1's row 1 moves from seq 1 to 4
    store.delete("2", "2", 5)  # 5
    changes = store.changes(0)
    assert [(c.user_id, c.movie_id, c.seq) for c in changes] == [
        ("2", "1", 2), ("1", "1", 4), ("2", "2", 5),
    ]  # fmt: skip
    assert changes[-1] == StoredRating("2", "2", None, 5, 5)
    assert [c.seq for c in store.changes(2)] == [4, 5]
    assert [c.seq for c in store.changes(0, limit=2)] == [2, 4]
    assert store.changes(5) == []
    with pytest.raises(ValueError):
        store.changes(0, limit=0)


def test_user_and_frame_hold_tombstones_and_count_does_not(store):
    store.upsert("7", [("10", 4.5, 100), ("11", 3.0, 101)])
    store.upsert("8", [("10", 1.0, 102)])
    store.delete("7", "11", 103)
    assert [(r.movie_id, r.rating) for r in store.user("7")] == [("10", 4.5), ("11", None)]
    frame = store.frame()
    assert frame["user_id"].tolist() == ["7", "8", "7"]
    assert frame["movie_id"].tolist() == ["10", "10", "11"]
    np.testing.assert_array_equal(frame["rating"].to_numpy(), [4.5, 1.0, np.nan])
    assert frame["timestamp"].tolist() == [100, 102, 103] and frame["seq"].tolist() == [1, 3, 4]
    assert [str(t) for t in frame.dtypes.iloc[2:]] == ["float64", "int64", "int64"]
    assert store.count() == 2 and store.last_seq() == 4


# -- concurrency -------------------------------------------------------------------------
def test_concurrent_writers_lose_nothing_and_a_follower_sees_every_row_once(store):
    """4 writers × 50 batches of 5 while a reader polls changes(after the last seq seen): a
    write committed with a smaller seq after a larger one would be missed by the reader."""
    seen: list[StoredRating] = []
    acknowledged: list[Upserted] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def follow():
        last = 0
        try:
            while True:
                finished = done.is_set()  # read before the poll: the last poll is complete
                for row in store.changes(last, limit=37):
                    seen.append(row)
                    last = row.seq
                if finished and not store.changes(last):
                    return
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    def write(k: int):
        try:
            for b in range(50):
                rows = [(f"{b}-{m}", 0.5 + m, 1_000 + b) for m in range(5)]
                acknowledged.append(store.upsert(f"writer{k}", rows))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    follower = threading.Thread(target=follow)
    writers = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    follower.start()
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    done.set()
    follower.join()
    assert errors == []
    assert len(acknowledged) == 200 and all(a.stored == 5 and a.older == 0 for a in acknowledged)
    assert sorted(a.seq for a in acknowledged) == list(range(5, 1001, 5))  # one range each
    assert store.count() == 1000 and store.last_seq() == 1000
    seqs = [r.seq for r in seen]
    assert seqs == list(range(1, 1001))  # each row once, in order, none skipped
    pairs = {(r.user_id, r.movie_id) for r in seen}
    assert pairs == {(f"writer{k}", f"{b}-{m}") for k in range(4) for b in range(50)
                     for m in range(5)}  # fmt: skip


def test_concurrent_deletes_and_upserts_of_one_pair_end_in_the_last_applied(store):
    """A deletion always applies (keeping the later timestamp), an upsert only when it is not
    older: the row ends as the applied write with the largest seq left it."""
    applied: list[tuple[int, float | None]] = []  # (seq, rating written)

    def work(k: int):
        for i in range(25):
            t = k * 1000 + i
            if i % 2:
                applied.append((store.delete("7", "1", t), None))
            elif (result := store.upsert("7", [("1", 1.0 + k, t)])).stored:
                applied.append((result.seq, 1.0 + k))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.last_seq() == 100
    (row,) = store.user("7")
    assert (row.seq, row.rating) == max(applied, key=lambda a: a[0])
    assert row.timestamp == 3024  # the latest timestamp seen, whoever won


def test_stores_opened_at_once_on_a_new_database_migrate_once(database):
    opened, errors = [], []

    def open_one():
        try:
            opened.append(database.open())
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(opened) == 4
    opened[0].upsert("1", [("1", 4.0, 1)])
    assert all(s.count() == 1 for s in opened)
    for s in opened:
        s.close()
    with raw_engine(database).connect() as conn:
        assert conn.execute(sa.text("SELECT version FROM schema_version")).all() == [(VERSION,)]


# -- migrations and durability -----------------------------------------------------------
def test_ratings_survive_reopening_and_migrations_run_once(database):
    with database.open() as store:
        store.upsert("1", [("1", 4.5, 10), ("2", 3.0, 11)])
        store.delete("1", "2", 12)
    for _ in range(2):
        with database.open() as store:
            assert rows_of(store, "1") == {"1": (4.5, 10), "2": (None, 12)}
            assert store.count() == 1 and store.last_seq() == 3
    engine = raw_engine(database)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version FROM schema_version")).all() == [(VERSION,)]
    engine.dispose()


def test_a_schema_newer_than_the_code_is_refused(database):
    database.open().close()
    engine = raw_engine(database)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE schema_version SET version = 99"))
    engine.dispose()
    newer = f"schema version 99, newer than this recsys knows \\({VERSION}\\)"
    with pytest.raises(ConfigError, match=newer):
        database.open()


WRITER = """
import sys
from pathlib import Path
from recsys.store import open_store
store = open_store(sys.argv[1] or None, Path(sys.argv[2]))
for i in range(100_000):
    result = store.upsert("crash", [(str(i), 4.0, i)])
    print(i, result.seq, flush=True)
"""


def test_every_acknowledged_write_survives_a_kill_9(database):
    """A writer prints each rating once upsert returns; killed mid-stream, every printed one
    is stored and nothing else beyond what it was writing."""
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, database.url or "", str(database.state_dir)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    acknowledged = []
    for line in writer.stdout:
        acknowledged.append(line.split()[0])
        if len(acknowledged) == 200:
            break
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    acknowledged += [line.split()[0] for line in writer.stdout.read().splitlines()]
    with database.open() as store:
        stored = set(rows_of(store, "crash"))
        assert set(acknowledged) <= stored
        assert len(stored) - len(acknowledged) <= 1  # at most the one in flight
        assert store.count() == len(stored)


# -- errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://u:hunter2@host/db", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://u:hunter2@host/db", "unsupported database"),
        ("sqlite://", "needs a SQLite file"),
        ("sqlite:///:memory:", "needs a SQLite file"),
        ("::not a url:hunter2@", "is not a valid URL"),
        ("postgresql+psycopg://u:hunter2@host:port/db", "is not a valid URL"),
        ("postgresql+psycopg://u:hunter2@127.0.0.1:1/db", "cannot open the rating store"),
    ],
)
def test_bad_urls_say_what_is_wrong_without_the_password(tmp_path, url, message):
    with pytest.raises(ConfigError, match=message) as refused:
        open_store(url, tmp_path)
    text = str(refused.value)
    assert "hunter2" not in text and "\n" not in text
    if "supported" in message or "SQLite" in message:
        assert "sqlite:///PATH or postgresql+psycopg://" in text or "SQLite file" in text


def test_a_sqlite_file_that_cannot_be_made(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="state folder"):
        open_store(None, blocker / "state")
    with pytest.raises(ConfigError, match="cannot open the rating store sqlite:///"):
        open_store(f"sqlite:///{tmp_path}/missing/feedback.sqlite3", tmp_path)


def test_describe_masks_the_password(database):
    with database.open() as store:
        shown = store.describe()
    if database.url is None:
        assert shown == f"sqlite:///{(database.state_dir / 'feedback.sqlite3').resolve()}"
        return
    url = sa.make_url(database.url).set(password="s3cret")
    # the test server trusts local connections, so any password opens it
    with open_store(url.render_as_string(hide_password=False), database.state_dir) as store:
        assert "s3cret" not in store.describe() and ":***@" in store.describe()
