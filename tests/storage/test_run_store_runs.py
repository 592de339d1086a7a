"""Runs: add, get, filters, update, delete, status moved by lifecycle events."""

from __future__ import annotations

import time

import pytest

from orchestrator.errors import StorageError
from orchestrator.events import Event, EventType, RunRecord, RunStatus


def test_add_and_get_run_round_trips_every_field(store):
    run = RunRecord(
        run_id="r1",
        job_name="daily",
        tags={"team": "data", "env": "prod"},
        run_config={"ops": {"load": {"config": {"limit": 10, "ratio": 0.5}}}},
        asset_selection=["warehouse/orders", "raw"],
        step_keys_to_execute=["load", "clean"],
        parent_run_id="r0",
        root_run_id="r0",
        partition="2024-01-01",
        code_location="module:defs",
    )
    store.add_run(run)
    got = store.get_run("r1")
    assert got == run
    assert got is not run
    assert store.get_run("nope") is None


def test_duplicate_run_id_is_a_storage_error(store):
    store.add_run(RunRecord(run_id="r1", job_name="a"))
    with pytest.raises(StorageError, match="'r1' already exists"):
        store.add_run(RunRecord(run_id="r1", job_name="b"))
    assert store.get_run("r1").job_name == "a"


def test_bad_run_id_and_job_name_are_rejected(store):
    with pytest.raises(StorageError, match="run_id None is not a non-empty string"):
        store.add_run(RunRecord(run_id=None, job_name="a"))
    with pytest.raises(StorageError, match="run 'r' has job_name ''"):
        store.add_run(RunRecord(run_id="r", job_name=""))
    with pytest.raises(StorageError, match="expects a RunRecord, got dict"):
        store.add_run({"run_id": "r"})
    assert store.get_runs() == []


def test_bad_tags_and_config_are_rejected(store):
    with pytest.raises(StorageError, match="tag keys and values must be strings"):
        store.add_run(RunRecord(run_id="r1", job_name="a", tags={"n": 1}))
    with pytest.raises(StorageError, match="not JSON serialisable"):
        store.add_run(RunRecord(run_id="r2", job_name="a", run_config={"x": object()}))
    assert store.get_runs() == []


def test_get_runs_newest_first_and_filters(store):
    store.add_run(RunRecord(run_id="a", job_name="j1", tags={"team": "x", "env": "prod"}))
    store.add_run(RunRecord(run_id="b", job_name="j2", tags={"team": "x"}))
    store.add_run(RunRecord(run_id="c", job_name="j1", tags={"team": "y", "env": "prod"}))
    store.update_run("b", status=RunStatus.SUCCESS)
    store.update_run("c", status=RunStatus.FAILURE)

    ids = lambda runs: [r.run_id for r in runs]
    assert ids(store.get_runs()) == ["c", "b", "a"]
    assert ids(store.get_runs(limit=2)) == ["c", "b"]
    assert ids(store.get_runs(job_name="j1")) == ["c", "a"]
    assert ids(store.get_runs(statuses=[RunStatus.SUCCESS, RunStatus.FAILURE])) == ["c", "b"]
    assert ids(store.get_runs(statuses=[])) == []
    assert ids(store.get_runs(tags={"team": "x"})) == ["b", "a"]
    assert ids(store.get_runs(tags={"team": "x", "env": "prod"})) == ["a"]  # all must match
    assert ids(store.get_runs(tags={"team": "x", "env": "dev"})) == []
    assert ids(store.get_runs(job_name="j1", statuses=[RunStatus.NOT_STARTED])) == ["a"]


def test_update_run_status_times_and_tags(store):
    store.add_run(RunRecord(run_id="r", job_name="j", tags={"a": "1"}))
    store.update_run("r", status=RunStatus.STARTED)
    run = store.get_run("r")
    assert run.status is RunStatus.STARTED and run.started_at is not None
    assert run.ended_at is None
    store.update_run("r", status=RunStatus.CANCELED, tags={"a": "2", "b": "3"})
    run = store.get_run("r")
    assert run.status is RunStatus.CANCELED and run.ended_at >= run.started_at
    assert run.tags == {"a": "2", "b": "3"}
    assert [r.run_id for r in store.get_runs(tags={"a": "2"})] == ["r"]
    assert store.get_runs(tags={"a": "1"}) == []


def test_update_unknown_run_names_it(store):
    with pytest.raises(StorageError, match="no run 'ghost'"):
        store.update_run("ghost", status=RunStatus.STARTED)


def test_lifecycle_events_move_status_in_the_same_transaction(store):
    store.add_run(RunRecord(run_id="r", job_name="j"))
    t0 = time.time()
    store.store_events([Event(EventType.RUN_ENQUEUED, "r", timestamp=t0)])
    assert store.get_run("r").status is RunStatus.QUEUED
    store.store_events([Event(EventType.RUN_START, "r", timestamp=t0 + 1)])
    run = store.get_run("r")
    assert run.status is RunStatus.STARTED and run.started_at == t0 + 1
    store.store_events([Event(EventType.RUN_CANCELING, "r", timestamp=t0 + 2)])
    assert store.get_run("r").status is RunStatus.CANCELING
    store.store_events(
        [Event(EventType.LOG, "r", timestamp=t0 + 3),
         Event(EventType.RUN_CANCELED, "r", timestamp=t0 + 4)]
    )
    run = store.get_run("r")
    assert run.status is RunStatus.CANCELED and run.ended_at == t0 + 4
    assert run.started_at == t0 + 1


def test_finished_run_is_not_moved_by_a_late_event(store):
    store.add_run(RunRecord(run_id="r", job_name="j"))
    store.store_events([Event(EventType.RUN_START, "r"), Event(EventType.RUN_SUCCESS, "r")])
    store.store_events([Event(EventType.RUN_START, "r")])  # late / duplicate
    assert store.get_run("r").status is RunStatus.SUCCESS
    assert len(store.get_events("r")) == 3  # still logged
    store.update_run("r", status=RunStatus.FAILURE)  # explicit update may override
    assert store.get_run("r").status is RunStatus.FAILURE


def test_each_run_in_a_mixed_batch_gets_its_own_status(store):
    for rid in ("a", "b"):
        store.add_run(RunRecord(run_id=rid, job_name="j"))
    store.store_events(
        [
            Event(EventType.RUN_START, "a"),
            Event(EventType.RUN_START, "b"),
            Event(EventType.RUN_FAILURE, "b"),
        ]
    )
    assert store.get_run("a").status is RunStatus.STARTED
    assert store.get_run("b").status is RunStatus.FAILURE


def test_delete_run_removes_run_tags_and_events(store):
    store.add_run(RunRecord(run_id="a", job_name="j", tags={"k": "v"}))
    store.add_run(RunRecord(run_id="b", job_name="j", tags={"k": "v"}))
    store.store_events([Event(EventType.LOG, "a"), Event(EventType.LOG, "b")])
    store.delete_run("a")
    assert store.get_run("a") is None
    assert store.get_events("a") == []
    assert [r.run_id for r in store.get_runs(tags={"k": "v"})] == ["b"]
    assert len(store.get_events("b")) == 1
    store.add_run(RunRecord(run_id="a", job_name="j"))  # the id is free again
