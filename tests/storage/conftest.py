"""Fixtures for the run store tests: each contract test runs on a file and on :memory:."""

from __future__ import annotations

import pytest

from orchestrator.storage.sqlite import InMemoryRunStorage, SqliteRunStorage


@pytest.fixture(params=["file", "memory"])
def store(request, tmp_path):
    """A fresh run store, file-backed (WAL) or in-memory."""
    if request.param == "file":
        s = SqliteRunStorage(tmp_path / "runs.db")
    else:
        s = InMemoryRunStorage()
    yield s
    s.close()


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "runs.db"
