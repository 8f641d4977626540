"""The `database` fixture: a test runs once on SQLite (a fresh state folder, no URL) and once on
PostgreSQL (a fresh database on the server of ``RECSYS_TEST_DATABASE_URL``, e.g.
``postgresql+psycopg://recsys@127.0.0.1:55432/postgres``, dropped afterwards). The PostgreSQL
run is marked ``postgres`` and skips when no server is set or reachable, unless
``RECSYS_REQUIRE_POSTGRES=1`` (CI), then it fails.

Use it in a test module or a conftest with::

    from tests.databases import database  # noqa: F401

and open the store with ``database.open()`` (or ``open_store(database.url,
database.state_dir)``).
"""

from __future__ import annotations

import functools
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER = "RECSYS_TEST_DATABASE_URL"
REQUIRE = "RECSYS_REQUIRE_POSTGRES"


@dataclass(frozen=True)
class Database:
    """Where a test's store lives: ``url`` None means SQLite in ``state_dir``."""

    url: str | None
    state_dir: Path
    backend: str  # "sqlite" or "postgres"

    def open(self):
        from recsys.store import open_store

        return open_store(self.url, self.state_dir)


def _unavailable(reason: str):
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{REQUIRE}=1 but {reason}")
    pytest.skip(reason)


@functools.cache
def _admin():
    """An AUTOCOMMIT engine on the test server, or the reason there is none (checked once)."""
    import sqlalchemy as sa

    url = os.environ.get(SERVER)
    if not url:
        return None, f"no PostgreSQL server: set {SERVER}=postgresql+psycopg://USER@HOST:PORT/DB"
    try:
        server = sa.make_url(url)
        if server.drivername == "postgresql":
            server = server.set(drivername="postgresql+psycopg")
        engine = sa.create_engine(server, isolation_level="AUTOCOMMIT",
                                  poolclass=sa.pool.NullPool,
                                  connect_args={"connect_timeout": 5})  # fmt: skip
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except (sa.exc.SQLAlchemyError, ImportError) as error:
        cause = getattr(error, "orig", None) or error
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        shown = url.split("@")[-1]  # host and database only: never a password
        return None, f"PostgreSQL at {shown} unreachable: {first}"
    return engine, None


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    ids=["sqlite", "postgres"],
)
def database(request, tmp_path):
    """A fresh, empty place for a rating store, on each backend."""
    state_dir = tmp_path / "state"
    if request.param == "sqlite":
        yield Database(None, state_dir, "sqlite")
        return
    import sqlalchemy as sa

    admin, reason = _admin()
    if admin is None:
        _unavailable(reason)
    name = f"recsys_test_{uuid.uuid4().hex[:16]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = admin.url.set(database=name).render_as_string(hide_password=False)
        yield Database(url, state_dir, "postgres")
    finally:
        _drop(admin, name)


def _drop(admin, name: str) -> None:
    """Drop a test database, cutting off the connections a test left open first. Not WITH
    (FORCE): that needs the right to signal every backend in it, an autovacuum worker's too,
    which a CREATEDB role lacks; a plain DROP stops autovacuum itself and waits up to 5 s."""
    import sqlalchemy as sa

    ours = sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                   ":name AND usename = current_user AND pid <> pg_backend_pid()")  # fmt: skip
    for attempt in range(3):
        with admin.connect() as conn:
            conn.execute(ours, {"name": name})
            try:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
                return
            except sa.exc.OperationalError:  # still being accessed: the backends are exiting
                if attempt == 2:
                    raise
