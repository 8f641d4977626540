"""The rating store's tables and its migrations, applied in order at open.

Why a versioned schema table and not Alembic: the store is one table of ratings and one
counter row, its migrations only ever go forward, and every replica runs them at start-up
before it serves. A list of functions, each run once inside the same transaction that bumps
``schema_version``, does all of that; Alembic would add a dependency, a migrations folder and a
CLI that an operator must remember to run, and its autogenerate and downgrade features buy
nothing here. Two processes opening one database at once cannot race: the whole migration
runs under a lock (PostgreSQL: ``pg_advisory_xact_lock``; SQLite: ``BEGIN IMMEDIATE``, its
write lock), so the second one waits, then finds the schema current and does nothing. A
database whose version is newer than `MIGRATIONS` knows was written by a newer recsys; opening
it is refused instead of guessing.

To change the schema, append a function to `MIGRATIONS` (never edit a released one) and change
the table definitions below to match what the migrations produce.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

metadata = sa.MetaData()

# One row per (user, movie): the latest rating, or a tombstone (rating NULL) for a deletion.
# ``seq`` is the change number of the row's last write; a row written again gets a new one.
ratings = sa.Table(
    "ratings",
    metadata,
    sa.Column("user_id", sa.Text, primary_key=True),
    sa.Column("movie_id", sa.Text, primary_key=True),
    sa.Column("rating", sa.Double, nullable=True),  # DOUBLE PRECISION: 3.7 reads back as 3.7
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Index("ratings_seq", "seq", unique=True),
)

# One row: the last change number handed out. Every write transaction bumps it first.
feedback_state = sa.Table(
    "feedback_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
)


def _create_ratings(conn: sa.Connection) -> None:
    ratings.create(conn)
    feedback_state.create(conn)
    conn.execute(feedback_state.insert().values(id=1, last_seq=0))


MIGRATIONS: list[Callable[[sa.Connection], None]] = [
    _create_ratings,  # 1
]
VERSION = len(MIGRATIONS)


def migrate(conn: sa.Connection, where: str) -> int:
    """Bring the schema up to `VERSION` inside the caller's transaction, which holds the
    migration lock; returns the version found. ``where`` names the store in errors."""
    from recsys.errors import ConfigError

    schema_version.create(conn, checkfirst=True)
    found = conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0
    if found > VERSION:
        raise ConfigError(
            f"the rating store {where} has schema version {found}, newer than this recsys "
            f"knows ({VERSION}): upgrade recsys, or point it at another database"
        )
    for migration in MIGRATIONS[found:]:
        migration(conn)
    if found < VERSION:
        conn.execute(schema_version.delete())
        conn.execute(schema_version.insert().values(version=VERSION))
    return found
