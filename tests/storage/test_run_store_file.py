"""The file: kv, reopening, schema versions and migrations, corrupt files, pickling."""

from __future__ import annotations

import pickle
import sqlite3

import pytest

from orchestrator.asset_key import AssetKey
from orchestrator.errors import StorageError
from orchestrator.events import Event, EventType, RunRecord, RunStatus
from orchestrator.storage import sqlite as sqlite_store
from orchestrator.storage.sqlite import SCHEMA_VERSION, SqliteRunStorage


def test_kv_round_trip_replace_delete(store):
    assert store.kv_get("sensors", "s1") is None
    store.kv_set("sensors", "s1", {"cursor": 10, "seen": ["a", "b"], "ratio": float("inf")})
    assert store.kv_get("sensors", "s1") == {"cursor": 10, "seen": ["a", "b"],
                                             "ratio": float("inf")}
    store.kv_set("sensors", "s1", 11)
    assert store.kv_get("sensors", "s1") == 11
    store.kv_set("other", "s1", "x")  # namespaces are separate
    assert store.kv_get("sensors", "s1") == 11 and store.kv_get("other", "s1") == "x"
    store.kv_delete("sensors", "s1")
    assert store.kv_get("sensors", "s1") is None
    store.kv_delete("sensors", "missing")  # no error
    with pytest.raises(StorageError, match="kv_set\\('a', 'b'\\).*JSON"):
        store.kv_set("a", "b", {1, 2})


def test_reopening_a_file_keeps_everything(db_path):
    with SqliteRunStorage(db_path) as s:
        s.add_run(RunRecord(run_id="r", job_name="j", tags={"t": "1"}))
        s.store_events([Event(EventType.RUN_START, "r"),
                        Event(EventType.ASSET_MATERIALIZATION, "r",
                              asset_key=AssetKey(["a", "b/c"]), partition="p",
                              data={"metadata": {"n": {"type": "int", "raw_value": 3}}}),
                        Event(EventType.RUN_SUCCESS, "r")])
        s.kv_set("ns", "k", [1, 2])
        before_events = s.get_events("r")
    with SqliteRunStorage(db_path) as s:
        assert s.get_run("r").status is RunStatus.SUCCESS
        assert s.get_run("r").tags == {"t": "1"}
        assert s.get_events("r") == before_events
        assert s.get_latest_materialization(AssetKey(["a", "b/c"]), "p").data["metadata"]["n"] == {
            "type": "int", "raw_value": 3}
        assert s.kv_get("ns", "k") == [1, 2]
        # new ids continue after the old ones
        e = Event(EventType.LOG, "r")
        s.store_events([e])
        assert e.storage_id > before_events[-1].storage_id


def test_file_uses_wal_and_records_schema_version(db_path):
    with SqliteRunStorage(db_path) as s:
        assert s.schema_version() == SCHEMA_VERSION
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = conn.execute("SELECT version, description FROM schema_version").fetchall()
    assert [r[0] for r in rows] == list(range(1, SCHEMA_VERSION + 1))
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "run_tags", "events", "assets", "asset_partitions", "asset_checks", "kv",
            "schema_version"} <= tables
    conn.close()


def test_a_new_migration_upgrades_an_existing_file_in_place(db_path, monkeypatch):
    with SqliteRunStorage(db_path) as s:
        s.add_run(RunRecord(run_id="r", job_name="j"))
    extra = (SCHEMA_VERSION + 1, "test: add a column", (
        "ALTER TABLE runs ADD COLUMN note TEXT",
        "UPDATE runs SET note = 'migrated'",
    ))
    monkeypatch.setattr(sqlite_store, "MIGRATIONS", [*sqlite_store.MIGRATIONS, extra])
    monkeypatch.setattr(sqlite_store, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with SqliteRunStorage(db_path) as s:
        assert s.schema_version() == SCHEMA_VERSION + 1
        assert s.get_run("r").job_name == "j"
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT note FROM runs").fetchone()[0] == "migrated"
    conn.close()
    # opening again does not re-apply it
    with SqliteRunStorage(db_path) as s:
        assert s.schema_version() == SCHEMA_VERSION + 1


def test_a_file_from_a_newer_version_is_refused(db_path):
    SqliteRunStorage(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO schema_version VALUES (999, 'future', 0)")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="schema version 999.*Upgrade the orchestrator"):
        SqliteRunStorage(db_path)


def test_a_failed_migration_leaves_the_file_at_the_old_version(db_path, monkeypatch):
    SqliteRunStorage(db_path).close()
    bad = (SCHEMA_VERSION + 1, "broken", ("CREATE TABLE ok_table (x)", "THIS IS NOT SQL"))
    monkeypatch.setattr(sqlite_store, "MIGRATIONS", [*sqlite_store.MIGRATIONS, bad])
    monkeypatch.setattr(sqlite_store, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(StorageError):
        SqliteRunStorage(db_path)
    monkeypatch.undo()
    with SqliteRunStorage(db_path) as s:
        assert s.schema_version() == SCHEMA_VERSION
    conn = sqlite3.connect(db_path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "ok_table" not in names
    conn.close()


@pytest.mark.parametrize("content", [b"this is not a database at all\n" * 100,
                                     b"\x00" * 4096 + b"junk"])
def test_a_corrupt_file_is_a_storage_error_naming_file_and_fix(db_path, content):
    db_path.write_bytes(content)
    with pytest.raises(StorageError) as info:
        SqliteRunStorage(db_path)
    message = str(info.value)
    assert str(db_path) in message
    assert "not a SQLite database" in message and "Move the file away" in message


def test_a_directory_in_the_way_is_a_storage_error(tmp_path):
    (tmp_path / "runs.db").mkdir()
    with pytest.raises(StorageError, match="runs.db"):
        SqliteRunStorage(tmp_path / "runs.db")


def test_closed_store_says_so(db_path):
    s = SqliteRunStorage(db_path)
    s.close()
    with pytest.raises(StorageError, match="closed"):
        s.get_runs()


def test_file_store_pickles_by_path_memory_store_refuses(db_path):
    s = SqliteRunStorage(db_path)
    s.add_run(RunRecord(run_id="r", job_name="j"))
    copy = pickle.loads(pickle.dumps(s))
    assert copy.path == s.path and copy.get_run("r").job_name == "j"
    copy.close()
    s.close()
    with pytest.raises(StorageError, match="in-memory run store cannot be sent"):
        pickle.dumps(SqliteRunStorage(":memory:"))


def test_parent_directories_are_created(tmp_path):
    path = tmp_path / "a" / "b" / "runs.db"
    with SqliteRunStorage(path) as s:
        s.kv_set("n", "k", 1)
    assert path.exists()
