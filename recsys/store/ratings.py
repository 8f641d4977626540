"""`RatingStore`: ratings written over HTTP, kept durably in SQLite or PostgreSQL.

One row per (user, movie) holds the latest rating, or a tombstone (rating NULL) once it is
deleted; the training data is not in the store, so deleting a rating the store never saw
writes a tombstone too. Ids are the raw ids as text ("19"), as a client sends them.

**Change numbers.** Every row carries ``seq``, the change number of its last write, taken from
the one-row table ``feedback_state``: a write transaction first runs ``UPDATE feedback_state
SET last_seq = last_seq + n RETURNING last_seq`` and numbers its n rows below that. A reader
that follows the store by polling ``changes(after_seq=last_seen)`` must never miss a row, so a
transaction with smaller numbers must be visible no later than one with larger numbers, i.e.
commit order must equal seq order. It does, because that UPDATE is the first statement of
every write and the lock it takes is held until COMMIT:

* PostgreSQL: the UPDATE takes the row lock of the counter; a second writer's UPDATE blocks on
  it until the first has committed (PostgreSQL releases row locks after the commit is
  visible), and only then reads the incremented counter. So writer B's numbers are larger
  than A's only if A committed, visibly, before B got any number.
* SQLite: write transactions start with ``BEGIN IMMEDIATE``, which takes the database's single
  write lock before anything is read; writers run one at a time, in seq order.

Numbers of rows that were not applied (an older timestamp) are skipped: seqs are strictly
increasing, not dense. A row written again gets a new, larger seq, so a follower sees its
latest version.

**Durability.** A method returns after COMMIT. SQLite runs in WAL mode with ``synchronous=
FULL`` (the WAL is fsynced at every commit) and a 10 s busy timeout; PostgreSQL with its
defaults (``fsync``, ``synchronous_commit`` on).

**Threads.** A store is shared by the threads of a server: SQLAlchemy's engine keeps a pool of
connections and every method checks one out for its transaction only. Readers on SQLite use a
deferred ``BEGIN``, so they never wait for the write lock (WAL readers see the last commit).

Secrets: errors and `RatingStore.describe` show the URL with its password masked.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite

from recsys.errors import ConfigError
from recsys.store.schema import VERSION, feedback_state, migrate, ratings, schema_version

log = logging.getLogger(__name__)

SQLITE_FILE = "feedback.sqlite3"
SUPPORTED = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"
BUSY_SECONDS = 10
MIGRATION_LOCK = 0x7265637379730001  # pg_advisory_xact_lock key: "recsys" + 1
_READ = "recsys_read_only"  # execution option: SQLite starts a deferred transaction
_COLUMNS = ("user_id", "movie_id", "rating", "timestamp", "seq")


@dataclass(frozen=True, slots=True)
class StoredRating:
    """One stored row: a rating, or a deletion (``rating`` None)."""

    user_id: str
    movie_id: str
    rating: float | None
    timestamp: int
    seq: int


@dataclass(frozen=True)
class Upserted:
    """What one `RatingStore.upsert` did."""

    stored: int  # rows inserted or changed
    older: int  # rows not applied: the stored row has a later timestamp
    seq: int  # the store's last change number after this commit


class RatingStore:
    """Ratings by (user, movie), latest timestamp winning, with change numbers. Open one with
    `open_store`; share it between threads; `close` it at the end."""

    def __init__(self, engine: sa.Engine, shown: str):
        self._engine = engine
        self._shown = shown
        self.backend = engine.dialect.name  # "sqlite" or "postgresql"
        insert = sqlite.insert if self.backend == "sqlite" else postgresql.insert
        key = [ratings.c.user_id, ratings.c.movie_id]

        upsert = insert(ratings)
        if self.backend == "postgresql":
            # One statement of five arrays: psycopg re-parses a long multi-row VALUES
            # statement on every call (10 ms for 100 rows); unnest keeps the text short.
            given = sa.func.unnest(
                sa.bindparam("movie_ids", type_=postgresql.ARRAY(sa.Text)),
                sa.bindparam("ratings", type_=postgresql.ARRAY(sa.Double)),
                sa.bindparam("timestamps", type_=postgresql.ARRAY(sa.BigInteger)),
                sa.bindparam("seqs", type_=postgresql.ARRAY(sa.BigInteger)),
            ).table_valued("movie_id", "rating", "timestamp", "seq").render_derived("given")
            upsert = upsert.from_select(
                list(_COLUMNS),
                sa.select(sa.bindparam("user_id", type_=sa.Text), *given.c),
            )
        new = upsert.excluded
        self._upsert = upsert.on_conflict_do_update(
            index_elements=key,
            set_={"rating": new.rating, "timestamp": new.timestamp, "seq": new.seq},
            where=new.timestamp >= ratings.c.timestamp,  # on a tie the new row wins
        ).returning(ratings.c.seq)  # a row comes back only when it was written

        delete = insert(ratings)
        later = sa.case(
            (delete.excluded.timestamp > ratings.c.timestamp, delete.excluded.timestamp),
            else_=ratings.c.timestamp,
        )
        self._delete = delete.on_conflict_do_update(
            index_elements=key,
            set_={"rating": None, "timestamp": later, "seq": delete.excluded.seq},
        )
        self._take = (
            sa.update(feedback_state)
            .where(feedback_state.c.id == 1)
            .values(last_seq=feedback_state.c.last_seq + sa.bindparam("n", type_=sa.BigInteger))
            .returning(feedback_state.c.last_seq)
        )

    # -- writes ---------------------------------------------------------------------------
    def upsert(self, user_id: str, rows: Sequence[tuple[str, float, int]]) -> Upserted:
        """Store ``rows`` = (movie_id, rating, timestamp) of one user in one transaction:
        on (user, movie) the later timestamp wins, and on a tie the new row (re-posting
        replaces). Rows are validated by the caller and name each movie once. Returns after
        COMMIT."""
        if not rows:
            return Upserted(0, 0, self.last_seq())
        with self._engine.begin() as conn:
            last = conn.execute(self._take, {"n": len(rows)}).scalar_one()
            first = last - len(rows) + 1
            if self.backend == "postgresql":
                movies, values, stamps = zip(*rows, strict=True)
                params = {"user_id": user_id, "movie_ids": list(movies),
                          "ratings": [float(v) for v in values],
                          "timestamps": [int(t) for t in stamps],
                          "seqs": list(range(first, last + 1))}  # fmt: skip
            else:  # executemany: SQLAlchemy sends multi-row VALUES ("insertmanyvalues")
                params = [
                    {"user_id": user_id, "movie_id": movie, "rating": float(rating),
                     "timestamp": int(timestamp), "seq": first + i}
                    for i, (movie, rating, timestamp) in enumerate(rows)
                ]  # fmt: skip
            stored = len(conn.execute(self._upsert, params).all())
        return Upserted(stored, len(rows) - stored, last)

    def delete(self, user_id: str, movie_id: str, timestamp: int) -> int:
        """Tombstone (user, movie): rating NULL, the later of ``timestamp`` and the stored
        one, a new seq. Written even when no row is stored (the rating may be in the training
        data). Returns the new seq."""
        with self._engine.begin() as conn:
            seq = conn.execute(self._take, {"n": 1}).scalar_one()
            row = {"user_id": user_id, "movie_id": movie_id, "rating": None,
                   "timestamp": int(timestamp), "seq": seq}  # fmt: skip
            conn.execute(self._delete, row)
        return seq

    # -- reads ----------------------------------------------------------------------------
    def _read(self) -> sa.Connection:
        return self._engine.connect().execution_options(**{_READ: True})

    def _rows(self, query: sa.Select) -> list[StoredRating]:
        with self._read() as conn:
            # A catalogue's movie ids repeat over every user's rows: one string each, interned.
            rows = conn.execute(query)
            return [StoredRating(u, sys.intern(m), r, t, s) for u, m, r, t, s in rows]

    def _select(self) -> sa.Select:
        return sa.select(*(ratings.c[name] for name in _COLUMNS))

    def user(self, user_id: str) -> list[StoredRating]:
        """That user's rows, tombstones included, in seq order."""
        return self._rows(self._select().where(ratings.c.user_id == user_id)
                          .order_by(ratings.c.seq))  # fmt: skip

    def changes(self, after_seq: int, limit: int = 10_000) -> list[StoredRating]:
        """Up to ``limit`` rows with seq > ``after_seq``, in ascending seq. Polling with the
        last seq seen misses nothing (see the module docstring)."""
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        query = self._select().where(ratings.c.seq > after_seq).order_by(ratings.c.seq)
        return self._rows(query.limit(limit))

    def frame(self):
        """Every row, tombstones included, as a DataFrame: user_id and movie_id (str), rating
        (float, NaN = deleted), timestamp and seq (int64), in seq order."""
        import numpy as np
        import pandas as pd

        with self._read() as conn:
            rows = conn.execute(self._select().order_by(ratings.c.seq)).all()
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(_COLUMNS)
        return pd.DataFrame({
            "user_id": np.array(columns[0], dtype=object),
            "movie_id": np.array(columns[1], dtype=object),
            "rating": np.array([np.nan if r is None else r for r in columns[2]], np.float64),
            "timestamp": np.array(columns[3], np.int64),
            "seq": np.array(columns[4], np.int64),
        })  # fmt: skip

    def count(self) -> int:
        """Stored ratings, tombstones not counted."""
        query = sa.select(sa.func.count()).select_from(ratings).where(ratings.c.rating.isnot(None))
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def last_seq(self) -> int:
        """The last change number handed out (0 for a new store)."""
        with self._read() as conn:
            return int(conn.execute(sa.select(feedback_state.c.last_seq)).scalar_one())

    def describe(self) -> str:
        """The URL, its password masked: safe to log and show."""
        return self._shown

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> RatingStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RatingStore({self._shown!r})"


def open_store(url: str | None, state_dir: Path, *, read_only: bool = False) -> RatingStore:
    """The store at ``url`` (``sqlite:///PATH`` or ``postgresql+psycopg://…``; a plain
    ``postgresql://`` means psycopg too), or with None the SQLite file
    ``state_dir / "feedback.sqlite3"`` (the folder is created). Migrations run here. A bad or
    unsupported URL, an unreachable server or a schema newer than this code raise ConfigError,
    in one line without the password.

    ``read_only``: for a reader such as `recsys train --feedback`: nothing is created or
    migrated (a SQLite file is opened read-only), and a database that holds no rating store of
    this schema version raises ConfigError. Only the read methods may be used."""
    if read_only:
        return _open_read_only(url)
    if url is None:
        try:
            Path(state_dir).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(f"cannot create the state folder {state_dir}: {error}") from None
        parsed = sa.URL.create("sqlite", database=str(Path(state_dir).resolve() / SQLITE_FILE))
    else:
        try:
            parsed = sa.make_url(url)
        except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is no number
            # Not echoed: an unparsable URL may hold a password where no rule can find it.
            raise ConfigError(f"the database URL is not a valid URL; give {SUPPORTED}") from None
    parsed = _supported(parsed)
    shown = parsed.render_as_string(hide_password=True)
    engine = _engine(parsed)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":  # SQLite: BEGIN IMMEDIATE already locks
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
            found = migrate(conn, shown)
    except ConfigError:
        engine.dispose()
        raise
    except sa.exc.SQLAlchemyError as error:
        engine.dispose()
        raise ConfigError(f"cannot open the rating store {shown}: {_reason(error, parsed)}") \
            from None  # fmt: skip
    store = RatingStore(engine, shown)
    if found == 0:
        log.info("created the rating store %s", shown)
    return store


def _open_read_only(url: str | None) -> RatingStore:
    """`open_store` with ``read_only``: an existing store, read as it is."""
    if url is None:
        raise ConfigError("a read-only rating store needs its URL")
    try:
        parsed = _supported(sa.make_url(url))
    except (sa.exc.ArgumentError, ValueError):
        raise ConfigError(f"the database URL is not a valid URL; give {SUPPORTED}") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        import sqlite3

        path = Path(parsed.database)
        if not path.is_file():
            raise ConfigError(f"the rating store {shown}: no such file")
        ro = f"{path.resolve().as_uri()}?mode=ro"  # never creates or writes the file
        engine = sa.create_engine("sqlite://", poolclass=sa.pool.NullPool,
                                  creator=lambda: sqlite3.connect(ro, uri=True))  # fmt: skip
    else:
        engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool,
                                  connect_args={"connect_timeout": 10})  # fmt: skip
    try:
        with engine.connect() as conn:
            found = 0
            if sa.inspect(conn).has_table(schema_version.name):
                query = sa.select(sa.func.max(schema_version.c.version))
                found = conn.execute(query).scalar() or 0
    except sa.exc.SQLAlchemyError as error:
        engine.dispose()
        raise ConfigError(f"cannot open the rating store {shown}: {_reason(error, parsed)}") \
            from None  # fmt: skip
    if found != VERSION:
        engine.dispose()
        what = ("holds no rating store" if found == 0 else
                f"has schema version {found}, this recsys reads {VERSION}")  # fmt: skip
        raise ConfigError(f"the rating store {shown} {what} (recsys serve creates and "
                          "upgrades it)")  # fmt: skip
    return RatingStore(engine, shown)


def _supported(url: sa.URL) -> sa.URL:
    """The URL with its driver made explicit, or ConfigError for anything but SQLite files
    and PostgreSQL through psycopg 3."""
    backend, driver = url.get_backend_name(), url.get_driver_name()
    if backend == "sqlite" and driver == "pysqlite":
        if url.database in (None, "", ":memory:") or url.database.startswith("file:"):
            raise ConfigError(
                f"database URL {url.render_as_string(hide_password=True)!r}: the rating store "
                "needs a SQLite file (sqlite:///PATH), not an in-memory database"
            )
        return url
    if backend == "postgresql" and driver in ("psycopg", "psycopg2") and "+" not in url.drivername:
        return url.set(drivername="postgresql+psycopg")
    if backend == "postgresql" and driver == "psycopg":
        return url
    raise ConfigError(
        f"database URL {url.render_as_string(hide_password=True)!r}: unsupported database "
        f"{url.drivername!r}; give {SUPPORTED}"
    )


def _engine(url: sa.URL) -> sa.Engine:
    pool = {"pool_size": 8, "max_overflow": 24}  # a server's worker threads, bounded
    if url.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10},
                                **pool)  # fmt: skip
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_SECONDS}, **pool)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        # SQLAlchemy's documented recipe: pysqlite must not BEGIN by itself, the "begin"
        # event below does, so write transactions can take the write lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_SECONDS * 1000}")
        mode = _journal_wal(cursor)
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()
        if mode.lower() != "wal":
            log.warning("SQLite kept journal mode %s (WAL unsupported here?)", mode)

    @event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        # IMMEDIATE: a writer waits for the write lock at BEGIN (busy timeout) instead of
        # failing with "database is locked" when it upgrades a read lock later.
        read = conn.get_execution_options().get(_READ, False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

    return engine


def _journal_wal(cursor) -> str:
    """Switch to WAL. The switch needs the file to itself, and SQLite answers "database is
    locked" at once, without its busy handler, while another connection (say a replica starting
    at the same moment) opens or switches it: so wait and retry, up to the busy timeout."""
    import sqlite3
    import time

    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            return cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _reason(error: sa.exc.SQLAlchemyError, url: sa.URL) -> str:
    """The driver's message, first line only, the password masked should it appear."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    text = lines[0].strip() if lines else type(cause).__name__
    if url.password:
        text = text.replace(str(url.password), "***")
    return text
