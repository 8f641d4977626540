"""Every store test runs on SQLite and on PostgreSQL (tests/databases.py)."""

from __future__ import annotations

import pytest

from tests.databases import database  # noqa: F401


@pytest.fixture
def store(database):  # noqa: F811
    store = database.open()
    yield store
    store.close()
