"""`open_store(..., read_only=True)`, as `recsys train --feedback` opens a store: it reads an
existing store and never creates, migrates or otherwise writes the file (audit finding 14)."""

from __future__ import annotations

import pytest

from recsys.errors import ConfigError
from recsys.store import open_store


def test_a_file_with_no_store_is_refused_and_left_as_it_was(tmp_path):
    empty = tmp_path / "afile"
    empty.touch()
    with pytest.raises(ConfigError, match="holds no rating store"):
        open_store(f"sqlite:///{empty}", tmp_path, read_only=True)
    assert empty.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # no -wal, no -shm

    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, but long enough to be read as a header" * 4)
    before = text.read_bytes()
    with pytest.raises(ConfigError, match="cannot open the rating store"):
        open_store(f"sqlite:///{text}", tmp_path, read_only=True)
    assert text.read_bytes() == before
    with pytest.raises(ConfigError, match="no such file"):
        open_store(f"sqlite:///{tmp_path / 'missing'}", tmp_path, read_only=True)


def test_an_existing_store_is_read_without_being_written(tmp_path):
    with open_store(None, tmp_path) as store:
        store.upsert("1", [("10", 4.0, 100)])
    path = tmp_path / "feedback.sqlite3"
    before = path.read_bytes()
    with open_store(f"sqlite:///{path}", tmp_path, read_only=True) as store:
        assert store.last_seq() == 1
        assert store.frame()["movie_id"].tolist() == ["10"]
    assert path.read_bytes() == before
