"""The run queue: limits, one process per run, crashed processes."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from orchestrator.daemon import RunQueue, submit_run
from orchestrator.daemon.worker import execute_queued_run
from orchestrator.errors import DefinitionError
from orchestrator.events import Event, EventType, RunStatus


def status(instance, run_id):
    return instance.run_storage.get_run(run_id).status


def finish(instance, run_id):
    instance.run_storage.store_event(Event(EventType.RUN_SUCCESS, run_id))


def test_global_and_tag_limits(instance):
    q = RunQueue(instance, max_concurrent_runs=3, launch=False, tag_concurrency_limits=[
        {"key": "database", "value": "warehouse", "limit": 1},
        {"key": "tenant", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}])
    ids = {}
    for name, tags in [("w1", {"database": "warehouse"}), ("w2", {"database": "warehouse"}),
                       ("t1", {"tenant": "acme"}), ("t2", {"tenant": "acme"}),
                       ("t3", {"tenant": "globex"}), ("p", {}),
                       ("urgent", {"orchestrator/priority": "5"})]:
        run, created = submit_run(instance, job_name="j", code_location=None, tags=tags)
        assert created and run.status is RunStatus.QUEUED
        ids[name] = run.run_id
    started = q.dequeue()
    # priority first, then oldest first; w2 and t2 wait for their tag's slot
    assert [k for k, v in ids.items() if v in started] == ["w1", "t1", "urgent"]
    assert q.dequeue() == []  # global limit reached
    finish(instance, ids["w1"])
    assert q.dequeue() == [ids["w2"]]
    finish(instance, ids["t1"])
    finish(instance, ids["urgent"])
    assert set(q.dequeue()) == {ids["t2"], ids["t3"]}  # one per tenant
    assert status(instance, ids["p"]) is RunStatus.QUEUED
    with pytest.raises(DefinitionError, match="expected a dict with 'key', 'limit'"):
        RunQueue(instance, tag_concurrency_limits=[{"key": "x"}])


def test_submission_is_idempotent(instance):
    run, created = submit_run(instance, job_name="j", code_location=None, run_id="fixed-id")
    again, created2 = submit_run(instance, job_name="j", code_location=None, run_id="fixed-id")
    assert created and not created2 and again.run_id == run.run_id
    assert len(instance.run_storage.get_runs()) == 1
    events = instance.run_storage.get_events("fixed-id")
    assert [e.event_type for e in events] == [EventType.RUN_ENQUEUED]


PROCESS_DEFS = """
import os
@asset
def pid_asset():
    return os.getpid()

@asset
def dies():
    os._exit(3)

ok = define_asset_job("ok", selection=[pid_asset])
crash = define_asset_job("crash", selection=[dies])
defs = Definitions(assets=[pid_asset, dies], jobs=[ok, crash])
"""


@pytest.mark.slow
@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_each_run_in_its_own_process_and_crashes_are_recorded(instance, write_defs, wait_for,
                                                              start_method):
    origin = write_defs(PROCESS_DEFS)
    q = RunQueue(instance, max_concurrent_runs=2, start_method=start_method)
    good, _ = submit_run(instance, job_name="ok", code_location=origin.pointer,
                         asset_selection=["pid_asset"])
    bad, _ = submit_run(instance, job_name="crash", code_location=origin.pointer,
                        asset_selection=["dies"])
    assert set(q.dequeue()) == {good.run_id, bad.run_id}
    wait_for(lambda: (q.poll(), not q.launched)[1], timeout=60)
    run = instance.run_storage.get_run(good.run_id)
    assert run.status is RunStatus.SUCCESS
    worker_pid = int(run.tags["orchestrator/pid"])
    assert worker_pid != os.getpid()
    mat = instance.run_storage.get_latest_materialization(
        __import__("orchestrator").AssetKey("pid_asset"))
    assert mat.run_id == good.run_id
    crashed = instance.run_storage.get_run(bad.run_id)
    assert crashed.status is RunStatus.FAILURE
    last = instance.run_storage.get_events(bad.run_id)[-1]
    assert "exited with code 3" in last.message and str(instance.home) in last.message


def test_recover_fails_runs_whose_process_is_gone(instance):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    run, _ = submit_run(instance, job_name="j", code_location=None,
                        tags={"orchestrator/pid": str(proc.pid),
                              "orchestrator/host": __import__("socket").gethostname()})
    instance.run_storage.update_run(run.run_id, status=RunStatus.STARTED)
    q = RunQueue(instance)
    assert q.recover() == [run.run_id]
    assert status(instance, run.run_id) is RunStatus.FAILURE


def test_worker_executes_the_queued_run_with_its_partition(instance, write_defs):
    origin = write_defs("""
days = DailyPartitionsDefinition(start_date="2024-01-01")
@asset(partitions_def=days)
def daily(context):
    return {k: 1 for k in context.partition_keys}
j = define_asset_job("j", selection=[daily])
defs = Definitions(assets=[daily], jobs=[j])
""")
    run, _ = submit_run(instance, job_name="j", code_location=origin.pointer,
                        partition="2024-01-02...2024-01-04", asset_selection=["daily"])
    result = execute_queued_run(instance, run.run_id)
    assert result.success and result.run_id == run.run_id
    assert sorted(instance.run_storage.get_partition_status(
        __import__("orchestrator").AssetKey("daily"))) == ["2024-01-02", "2024-01-03",
                                                           "2024-01-04"]
    assert len(instance.run_storage.get_runs()) == 1
    with pytest.raises(DefinitionError, match="only a queued run can be started"):
        execute_queued_run(instance, run.run_id)


@pytest.mark.slow
def test_forked_runs_see_the_current_definitions_file(instance, write_defs, wait_for):
    origin = write_defs("""
@asset
def version():
    return "v1"
j = define_asset_job("j", selection=[version])
defs = Definitions(assets=[version], jobs=[j])
""", name="versioned")
    origin.load()  # the daemon's process has v1 imported
    path = origin.target
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace('"v1"', '"v2"'))
    q = RunQueue(instance, start_method="fork")
    run, _ = submit_run(instance, job_name="j", code_location=origin.pointer,
                        asset_selection=["version"])
    q.dequeue()
    wait_for(lambda: (q.poll(), not q.launched)[1], timeout=60)
    assert status(instance, run.run_id) is RunStatus.SUCCESS
    import pickle

    assert pickle.loads((instance.storage_dir / "version").read_bytes()) == "v2"
    with pytest.raises(DefinitionError, match="'fork' or 'spawn'"):
        RunQueue(instance, start_method="thread")


def test_worker_runs_the_requested_subset_of_an_asset_job(instance, write_defs):
    origin = write_defs("""
@asset
def first():
    return 1

@asset
def second(first):
    return first + 1

both = define_asset_job("both", selection=[first, second], tags={"team": "t"})
defs = Definitions(assets=[first, second], jobs=[both])
""")
    run, _ = submit_run(instance, job_name="both", code_location=origin.pointer,
                        asset_selection=["first"])
    result = execute_queued_run(instance, run.run_id)
    assert result.success
    done = instance.run_storage.get_run(run.run_id)
    assert done.asset_selection == ["first"] and done.tags["team"] == "t"
    from orchestrator import AssetKey

    assert instance.run_storage.get_latest_materialization(AssetKey("first")) is not None
    assert instance.run_storage.get_latest_materialization(AssetKey("second")) is None
    gone, _ = submit_run(instance, job_name="removed", code_location=origin.pointer)
    with pytest.raises(DefinitionError, match="job 'removed' is not in its code location"):
        execute_queued_run(instance, gone.run_id)


def test_daemon_notices_runs_whose_process_dies_later(instance, write_defs):
    from orchestrator.daemon import Daemon, ManualClock

    origin = write_defs("defs = Definitions()")
    clock = ManualClock("2024-01-01T00:00:00Z")
    daemon = Daemon.for_origins(instance, [origin], clock=clock)
    daemon.tick()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    run, _ = submit_run(instance, job_name="j", code_location=None,
                        tags={"orchestrator/pid": str(proc.pid),
                              "orchestrator/host": __import__("socket").gethostname()})
    instance.run_storage.update_run(run.run_id, status=RunStatus.STARTED)
    clock.advance(seconds=11)
    daemon.tick()
    assert status(instance, run.run_id) is RunStatus.STARTED  # alive: left alone
    proc.kill()
    proc.wait()
    clock.advance(seconds=11)
    summary = daemon.tick()
    assert status(instance, run.run_id) is RunStatus.FAILURE
    assert any(run.run_id in e for e in summary.errors)
