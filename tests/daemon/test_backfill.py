"""Backfills driven by the daemon; runs are executed by the worker code path in-process."""
from __future__ import annotations

import pytest

from orchestrator import AssetKey
from orchestrator.backfill import (
    BackfillStatus,
    cancel_backfill,
    get_backfill,
    get_backfills,
    launch_backfill,
    resume_backfill,
)
from orchestrator.daemon import LoadedLocation, ManualClock
from orchestrator.daemon.worker import execute_queued_run
from orchestrator.errors import DefinitionError, OrchestratorError
from orchestrator.events import RunStatus

DEFS = """
import os
days = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-07")

@asset(partitions_def=days)
def per_day(context):
    if context.partition_key in os.environ.get("FAIL_DAYS", "").split(","):
        raise RuntimeError("bad day " + context.partition_key)
    return context.partition_key

@asset(partitions_def=days, backfill_policy=BackfillPolicy.single_run())
def ranged(context):
    return {k: k for k in context.partition_keys}

@asset(partitions_def=days, backfill_policy=BackfillPolicy.multi_run(2))
def pairs(context):
    return {k: k for k in context.partition_keys}

daily_job = define_asset_job("daily_job", selection=[per_day])
defs = Definitions(assets=[per_day, ranged, pairs], jobs=[daily_job])
"""


@pytest.fixture
def setup(instance, write_defs, make_daemon):
    origin = write_defs(DEFS)
    clock = ManualClock("2024-02-01T00:00:00Z")
    daemon = make_daemon(origin, clock)
    loc = LoadedLocation(origin.name, origin.load(), origin.pointer)
    return instance, daemon, loc


def backfill_runs(instance, bid):
    return [r for r in instance.run_storage.get_runs(tags={"orchestrator/backfill": bid})]


def run_queued(instance, bid):
    for r in backfill_runs(instance, bid):
        if r.status is RunStatus.QUEUED:
            execute_queued_run(instance, r.run_id)


def test_one_run_per_partition_with_a_concurrency_limit(setup):
    instance, daemon, loc = setup
    bf = launch_backfill(instance, loc, job_name="daily_job",
                         partition_range=("2024-01-02", "2024-01-06"), max_concurrent_runs=2)
    assert bf.chunks == ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06"]
    daemon.tick()
    assert len(backfill_runs(instance, bf.backfill_id)) == 2
    daemon.tick()  # still 2 in flight: nothing more
    assert len(backfill_runs(instance, bf.backfill_id)) == 2
    for _ in range(4):
        run_queued(instance, bf.backfill_id)
        daemon.tick()
    runs = backfill_runs(instance, bf.backfill_id)
    assert sorted(r.partition for r in runs) == bf.chunks
    assert all(r.status is RunStatus.SUCCESS for r in runs)
    assert get_backfill(instance, bf.backfill_id).status == BackfillStatus.COMPLETED_SUCCESS
    status = instance.run_storage.get_partition_status(AssetKey("per_day"))
    assert sorted(status) == bf.chunks and set(status.values()) == {"MATERIALIZED"}


def test_backfill_policy_single_run_and_multi_run(setup):
    instance, daemon, loc = setup
    single = launch_backfill(instance, loc, asset_selection=["ranged"], all_partitions=True)
    assert single.chunks == ["2024-01-01...2024-01-06"]
    pairs = launch_backfill(instance, loc, asset_selection=["pairs"],
                            partition_keys=["2024-01-01", "2024-01-02", "2024-01-03",
                                            "2024-01-05"])
    assert pairs.chunks == ["2024-01-01...2024-01-02", "2024-01-03", "2024-01-05"]
    daemon.tick()
    run_queued(instance, single.backfill_id)
    run_queued(instance, pairs.backfill_id)
    daemon.tick()
    (run,) = backfill_runs(instance, single.backfill_id)
    assert run.partition == "2024-01-01...2024-01-06" and run.status is RunStatus.SUCCESS
    assert len(instance.run_storage.get_partition_status(AssetKey("ranged"))) == 6
    assert get_backfill(instance, pairs.backfill_id).partition_statuses(instance) == {
        k: "SUCCESS" for k in ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-05"]}


def test_resume_after_interruption_does_not_repeat_runs(setup, write_defs, make_daemon):
    instance, daemon, loc = setup
    bf = launch_backfill(instance, loc, job_name="daily_job", all_partitions=True,
                         max_concurrent_runs=3)
    daemon.tick()
    first = {r.run_id for r in backfill_runs(instance, bf.backfill_id)}
    assert len(first) == 3
    # the daemon dies; a new one (new process, same store) takes over
    other = make_daemon(write_defs(DEFS, name="defs_0"), ManualClock("2024-02-01T00:01:00Z"))
    other.tick()
    assert {r.run_id for r in backfill_runs(instance, bf.backfill_id)} == first
    for _ in range(3):
        run_queued(instance, bf.backfill_id)
        other.tick()
    runs = backfill_runs(instance, bf.backfill_id)
    assert len(runs) == 6 and len({r.partition for r in runs}) == 6
    assert get_backfill(instance, bf.backfill_id).status == BackfillStatus.COMPLETED_SUCCESS


def test_cancel_and_resume_failed_partitions(setup, monkeypatch):
    instance, daemon, loc = setup
    bf = launch_backfill(instance, loc, job_name="daily_job", all_partitions=True,
                         max_concurrent_runs=2)
    daemon.tick()
    cancel_backfill(instance, bf.backfill_id)  # both runs still queued: canceled at once
    rec = get_backfill(instance, bf.backfill_id)
    assert rec.status == BackfillStatus.CANCELED
    assert {r.status for r in backfill_runs(instance, bf.backfill_id)} == {RunStatus.CANCELED}
    daemon.tick()
    assert len(backfill_runs(instance, bf.backfill_id)) == 2  # nothing new after cancel
    with pytest.raises(OrchestratorError, match="already CANCELED"):
        cancel_backfill(instance, bf.backfill_id)
    # resume: new runs for what did not succeed, one failing day
    monkeypatch.setenv("FAIL_DAYS", "2024-01-04")
    resume_backfill(instance, bf.backfill_id)
    for _ in range(4):
        daemon.tick()
        run_queued(instance, bf.backfill_id)
    daemon.tick()
    rec = get_backfill(instance, bf.backfill_id)
    assert rec.status == BackfillStatus.COMPLETED_FAILED
    assert rec.partition_statuses(instance)["2024-01-04"] == "FAILURE"
    # only the failed partitions: a new backfill with only_failed
    monkeypatch.delenv("FAIL_DAYS")
    again = launch_backfill(instance, loc, job_name="daily_job", all_partitions=True,
                            only_failed=True)
    assert again.partition_keys == ["2024-01-04"]
    missing = launch_backfill(instance, loc, asset_selection=["per_day", "ranged"],
                              all_partitions=True, only_missing=True)
    assert missing.partition_keys == ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04",
                                      "2024-01-05", "2024-01-06"][:6]  # ranged never ran
    assert [b.backfill_id for b in get_backfills(instance)][:2] == [missing.backfill_id,
                                                                   again.backfill_id]


def test_only_missing_skips_materialized_partitions(setup):
    instance, daemon, loc = setup
    bf = launch_backfill(instance, loc, job_name="daily_job",
                         partition_keys=["2024-01-01", "2024-01-02"])
    daemon.tick()
    run_queued(instance, bf.backfill_id)
    missing = launch_backfill(instance, loc, job_name="daily_job", all_partitions=True,
                              only_missing=True)
    assert missing.partition_keys == ["2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06"]


def test_bad_backfill_requests(setup):
    instance, _, loc = setup
    with pytest.raises(DefinitionError, match="exactly one of partition_keys="):
        launch_backfill(instance, loc, job_name="daily_job")
    with pytest.raises(DefinitionError, match="'2023-12-31' is not a partition"):
        launch_backfill(instance, loc, job_name="daily_job", partition_keys=["2023-12-31"])
    with pytest.raises(DefinitionError, match="exactly one of job_name= or asset_selection="):
        launch_backfill(instance, loc, all_partitions=True)
    with pytest.raises(OrchestratorError, match="no backfill 'nope'"):
        get_backfill(instance, "nope")


SLOW = """
import time
days = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-05")

@asset(partitions_def=days)
def slow(context):
    time.sleep(60)
    return 1

defs = Definitions(assets=[slow])
"""


@pytest.mark.slow
def test_cancel_stops_started_runs(instance, write_defs, make_daemon, wait_for):
    origin = write_defs(SLOW)
    daemon = make_daemon(origin, ManualClock("2024-02-01T00:00:00Z"), run_queue=True,
                         max_concurrent_runs=2)
    loc = LoadedLocation(origin.name, origin.load(), origin.pointer)
    bf = launch_backfill(instance, loc, asset_selection=["slow"], all_partitions=True)
    daemon.tick()
    started = [r for r in backfill_runs(instance, bf.backfill_id)
               if r.status is not RunStatus.QUEUED]
    assert len(started) == 2  # the instance-wide limit holds the other two back
    from orchestrator.events import EventType

    wait_for(lambda: all(instance.run_storage.get_events(r.run_id, event_types=[
        EventType.STEP_START]) for r in started), timeout=60)  # both steps are sleeping
    rec = cancel_backfill(instance, bf.backfill_id)
    assert rec.status == BackfillStatus.CANCELING
    wait_for(lambda: (daemon.tick(), get_backfill(instance, bf.backfill_id).status ==
                      BackfillStatus.CANCELED)[1], timeout=60)
    runs = backfill_runs(instance, bf.backfill_id)
    assert len(runs) == 4 and {r.status for r in runs} == {RunStatus.CANCELED}
    for r in started:  # the run's own process stopped its step and recorded the cancel
        types = [e.event_type.value for e in instance.run_storage.get_events(r.run_id)]
        assert "STEP_START" in types and types[-1] == "RUN_CANCELED"
    wait_for(lambda: (daemon.queue.poll(), not daemon.queue.launched)[1], timeout=60)
