"""Schedules and sensors evaluated by the daemon at chosen times (a ManualClock)."""
from __future__ import annotations

import pytest

from orchestrator.daemon import Daemon, ManualClock
from orchestrator.daemon.state import InstigatorStore
from orchestrator.events import RunStatus

SCHEDULES = """
@asset
def a():
    return 1

j = define_asset_job("j", selection=[a], tags={"team": "data"})

every_5 = ScheduleDefinition(name="every_5", job=j, cron_schedule="*/5 * * * *",
                             default_status=DefaultScheduleStatus.RUNNING)

@schedule(job=j, cron_schedule="0 9 * * *", execution_timezone="Europe/Paris",
          default_status=DefaultScheduleStatus.RUNNING)
def paris_9am(context):
    return RunRequest(tags={"local": context.scheduled_execution_time.isoformat()})

stopped = ScheduleDefinition(name="stopped", job=j, cron_schedule="* * * * *")

defs = Definitions(assets=[a], jobs=[j], schedules=[every_5, paris_9am, stopped])
"""


def runs_of(instance, name):
    return sorted((r for r in instance.run_storage.get_runs()
                   if r.tags.get("orchestrator/schedule") == name or
                   r.tags.get("orchestrator/sensor") == name),
                  key=lambda r: r.tags.get("orchestrator/scheduled_execution_time", ""))


def test_schedules_fire_at_their_cron_times(instance, write_defs, make_daemon):
    clock = ManualClock("2024-03-30T07:58:00Z")
    d = make_daemon(write_defs(SCHEDULES), clock)
    d.tick()  # first sight: starts counting from now
    assert runs_of(instance, "every_5") == []
    clock.set("2024-03-30T08:00:00Z")  # 09:00 in Paris (winter time)
    d.tick()
    (run,) = runs_of(instance, "every_5")
    assert run.tags["orchestrator/scheduled_execution_time"] == "2024-03-30T08:00:00+00:00"
    assert run.tags["team"] == "data" and run.job_name == "j"
    assert run.status is RunStatus.QUEUED and run.asset_selection == ["a"]
    (paris,) = runs_of(instance, "paris_9am")
    assert paris.tags["local"] == "2024-03-30T09:00:00+01:00"
    clock.set("2024-03-30T08:04:59Z")
    d.tick()
    assert len(runs_of(instance, "every_5")) == 1
    clock.set("2024-03-31T07:00:00Z")  # summer time: 09:00 Paris is 07:00 UTC
    d.tick()
    assert [r.tags["local"] for r in runs_of(instance, "paris_9am")] == [
        "2024-03-30T09:00:00+01:00", "2024-03-31T09:00:00+02:00"]
    assert runs_of(instance, "stopped") == []  # default status STOPPED
    ticks = d.store.ticks("defs_0:every_5")
    assert ticks[0]["status"] == "SUCCESS" and ticks[0]["run_ids"]


def test_start_and_stop_change_what_runs(instance, write_defs, make_daemon):
    clock = ManualClock("2024-01-01T00:00:30Z")
    d = make_daemon(write_defs(SCHEDULES), clock)
    store = InstigatorStore(instance.run_storage)
    store.set_status("defs_0:stopped", "RUNNING", reset_from=clock())
    store.set_status("defs_0:every_5", "STOPPED")
    clock.advance(minutes=3)
    d.tick()
    assert len(runs_of(instance, "stopped")) == 3  # 00:01, 00:02, 00:03
    assert runs_of(instance, "every_5") == []
    store.set_status("defs_0:stopped", "STOPPED")
    clock.advance(minutes=10)
    d.tick()
    assert len(runs_of(instance, "stopped")) == 3
    # restarted later: the stopped period is not caught up
    store.set_status("defs_0:stopped", "RUNNING", reset_from=clock())
    clock.advance(seconds=61)
    d.tick()
    assert len(runs_of(instance, "stopped")) == 4


def test_catch_up_policy_after_downtime(instance, write_defs, make_daemon):
    origin = write_defs(SCHEDULES)
    clock = ManualClock("2024-01-01T00:00:00Z")
    make_daemon(origin, clock, max_catchup_ticks=2).tick()
    clock.advance(hours=1, seconds=1)  # the daemon was down: 12 ticks of every_5 missed
    d = make_daemon(origin, clock, max_catchup_ticks=2)
    d.tick()
    times = [r.tags["orchestrator/scheduled_execution_time"] for r in
             runs_of(instance, "every_5")]
    assert times == ["2024-01-01T00:50:00+00:00", "2024-01-01T00:55:00+00:00",
                     "2024-01-01T01:00:00+00:00"]
    skipped = [t for t in d.store.ticks("defs_0:every_5") if t["status"] == "SKIPPED"]
    assert len(skipped) == 1 and "00:05:00" in skipped[0]["skip_reason"] and \
        "00:45:00" in skipped[0]["skip_reason"]
    # catch-up 0: only the newest missed tick
    clock.advance(minutes=30)
    make_daemon(origin, clock, max_catchup_ticks=0).tick()
    assert len(runs_of(instance, "every_5")) == 4


def test_crash_mid_tick_neither_duplicates_nor_loses_runs(instance, write_defs, make_daemon,
                                                           monkeypatch):
    origin = write_defs(SCHEDULES)
    clock = ManualClock("2024-01-01T00:00:00Z")
    make_daemon(origin, clock).tick()
    clock.advance(minutes=15)  # ticks 00:05, 00:10, 00:15 are due
    crashing = make_daemon(origin, clock)
    real_put = crashing.store.put
    calls = {"n": 0}

    def put_then_crash(iid, state):
        if iid.endswith(":every_5"):
            calls["n"] += 1
            if calls["n"] == 2:  # tick 00:10's runs exist, its state was not saved
                raise KeyboardInterrupt("daemon killed")
        real_put(iid, state)

    monkeypatch.setattr(crashing.store, "put", put_then_crash)
    with pytest.raises(KeyboardInterrupt):
        crashing.tick()
    assert len(runs_of(instance, "every_5")) == 2
    restarted = make_daemon(origin, clock)  # a fresh process: state comes from the store
    restarted.tick()
    restarted.tick()
    times = [r.tags["orchestrator/scheduled_execution_time"] for r in
             runs_of(instance, "every_5")]
    assert times == ["2024-01-01T00:05:00+00:00", "2024-01-01T00:10:00+00:00",
                     "2024-01-01T00:15:00+00:00"]
    tick_times = [t["timestamp"] for t in restarted.store.ticks("defs_0:every_5")]
    assert len(tick_times) == len(set(tick_times)) == 3


SENSORS = """
import json, os
@asset
def a():
    return 1

j = define_asset_job("j", selection=[a])

@sensor(job=j, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def keyed(context):
    n = int(context.cursor or 0)
    context.update_cursor(str(n + 1))
    return [RunRequest(run_key=f"file-{n // 2}")]   # each key asked for twice

@sensor(job=j, minimum_interval_seconds=10, default_status=DefaultSensorStatus.RUNNING)
def unkeyed(context):
    if os.environ.get("BREAK_SENSOR"):
        raise RuntimeError("source unreachable")
    return RunRequest(tags={"cursor": str(context.cursor)})

defs = Definitions(assets=[a], jobs=[j], sensors=[keyed, unkeyed])
"""


def test_sensors_interval_cursor_and_run_keys(instance, write_defs, make_daemon, monkeypatch):
    clock = ManualClock("2024-01-01T00:00:00Z")
    d = make_daemon(write_defs(SENSORS), clock)
    evaluations = []
    for _ in range(13):  # 0..120 s every 10 s
        s = d.tick()
        evaluations += [t["instigator"] for t in s.ticks]
        clock.advance(seconds=10)
    assert evaluations.count("defs_0:keyed") == 5  # at 0, 30, 60, 90, 120
    assert evaluations.count("defs_0:unkeyed") == 13
    keys = sorted(r.tags["orchestrator/run_key"] for r in runs_of(instance, "keyed"))
    assert keys == ["file-0", "file-1", "file-2"]  # duplicates de-duplicated
    ticks = d.store.ticks("defs_0:keyed")
    assert [t["status"] for t in reversed(ticks)] == ["SUCCESS", "SKIPPED", "SUCCESS",
                                                      "SKIPPED", "SUCCESS"]
    assert "already requested" in ticks[1]["skip_reason"]
    assert InstigatorStore(instance.run_storage).get("defs_0:keyed")["cursor"] == "5"
    assert len(runs_of(instance, "unkeyed")) == 13
    # a failing sensor records FAILURE and keeps its cursor
    monkeypatch.setenv("BREAK_SENSOR", "1")
    s = d.tick()
    failed = [t for t in s.ticks if t["instigator"] == "defs_0:unkeyed"]
    assert failed[0]["status"] == "FAILURE" and "source unreachable" in \
        failed[0]["error"]["message"]
    assert len(runs_of(instance, "unkeyed")) == 13


def test_sensor_crash_mid_tick_reuses_the_tick(instance, write_defs, make_daemon, monkeypatch):
    origin = write_defs(SENSORS)
    clock = ManualClock("2024-01-01T00:00:00Z")
    crashing = make_daemon(origin, clock)
    real_record = crashing._record_tick

    def crash(iid, st, tick):
        if tick.get("run_ids"):
            raise KeyboardInterrupt("killed after submitting, before saving")
        real_record(iid, st, tick)

    monkeypatch.setattr(crashing, "_record_tick", crash)
    with pytest.raises(KeyboardInterrupt):
        crashing.tick()
    assert len(runs_of(instance, "keyed")) == 1
    restarted = make_daemon(origin, clock)
    restarted.tick()
    # the keyed sensor evaluated again with the old cursor: same key, no new run; the
    # unkeyed one re-used its pending tick id: same run id, no duplicate
    assert len(runs_of(instance, "keyed")) == 1
    assert len(runs_of(instance, "unkeyed")) == 1
    assert InstigatorStore(instance.run_storage).get("defs_0:keyed")["cursor"] == "1"


def test_two_instigators_with_one_name_are_refused(instance, write_defs):
    origin = write_defs("""
@asset
def a():
    return 1
j = define_asset_job("j", selection=[a])
defs = Definitions(assets=[a], jobs=[j], schedules=[
    ScheduleDefinition(name="x", job=j, cron_schedule="* * * * *")],
    sensors=[SensorDefinition(name="x", evaluation_fn=lambda c: None, job=j)])
""")
    from orchestrator.errors import DefinitionError

    with pytest.raises(DefinitionError, match="two schedules/sensors named 'x'"):
        Daemon.for_origins(instance, [origin], launch=False)


PARTITIONED = """
days = DailyPartitionsDefinition(start_date="2024-01-01")

@asset(partitions_def=days)
def daily(context):
    return context.partition_key

dj = define_asset_job("dj", selection=[daily], partitions_def=days)
by_day = build_schedule_from_partitioned_job(dj, default_status=DefaultScheduleStatus.RUNNING)

@sensor(job=dj, minimum_interval_seconds=0, default_status=DefaultSensorStatus.RUNNING)
def wrong_key(context):
    return RunRequest(run_key="x", partition_key="2024-02-30")

defs = Definitions(assets=[daily], jobs=[dj], schedules=[by_day], sensors=[wrong_key])
"""


def test_partitioned_schedule_and_bad_partition_requests(instance, write_defs, make_daemon):
    clock = ManualClock("2024-01-03T12:00:00Z")
    d = make_daemon(write_defs(PARTITIONED), clock)
    d.tick()
    clock.set("2024-01-05T00:00:30Z")  # ticks at midnight of the 4th and the 5th
    summary = d.tick()
    runs = runs_of(instance, "dj_schedule")
    assert sorted(r.partition for r in runs) == ["2024-01-03", "2024-01-04"]
    assert {r.tags["orchestrator/run_key"] for r in runs} == {"2024-01-03", "2024-01-04"}
    bad = [t for t in summary.ticks if t["instigator"].endswith(":wrong_key")]
    assert bad[0]["status"] == "FAILURE"
    assert "'2024-02-30' is not a partition" in bad[0]["error"]["message"]
    assert runs_of(instance, "wrong_key") == []


CONFIGURED = """
class Limit(Config):
    n: int

@asset
def limited(config: Limit):
    return config.n

lj = define_asset_job("lj", selection=[limited])

@sensor(job=lj, minimum_interval_seconds=0, default_status=DefaultSensorStatus.RUNNING)
def configs(context):
    good = {"ops": {"limited": {"config": {"n": 3}}}}
    bad = {"ops": {"limited": {"config": {"n": "three"}}}}
    return RunRequest(run_key=context.cursor or "good",
                      run_config=bad if context.cursor == "bad" else good)

defs = Definitions(assets=[limited], jobs=[lj], sensors=[configs])
"""


def test_run_config_is_checked_when_the_run_is_requested(instance, write_defs, make_daemon):
    origin = write_defs(CONFIGURED)
    clock = ManualClock("2024-01-01T00:00:00Z")
    d = make_daemon(origin, clock)
    d.tick()
    (run,) = runs_of(instance, "configs")
    assert run.run_config == {"ops": {"limited": {"config": {"n": 3}}}}
    InstigatorStore(instance.run_storage).put("defs_0:configs", {"cursor": "bad"})
    d2 = make_daemon(origin, clock)
    clock.advance(seconds=1)
    (tick,) = d2.tick().ticks
    assert tick["status"] == "FAILURE"
    assert "with run config that does not fit" in tick["error"]["message"]
    assert "ops.limited.config.n" in tick["error"]["message"]
    assert len(runs_of(instance, "configs")) == 1


def test_daemon_reloads_a_changed_definitions_file(instance, write_defs, make_daemon):
    import os
    from pathlib import Path

    origin = write_defs(SCHEDULES, name="live")
    path = Path(origin.target)
    clock = ManualClock("2024-01-01T00:00:30Z")
    d = make_daemon(origin, clock, reload_interval=1.0)
    d.tick()
    text = path.read_text()
    path.write_text(text.replace('cron_schedule="* * * * *")',
                                 'cron_schedule="* * * * *",\n'
                                 '    default_status=DefaultScheduleStatus.RUNNING)'))
    os.utime(path, (1, 1))  # a different mtime whatever the file system's resolution
    clock.advance(seconds=45)
    summary = d.tick()
    assert summary.errors == []
    assert len(runs_of(instance, "stopped")) == 0  # starts from the reload, no back-fill
    clock.advance(seconds=60)
    d.tick()
    assert len(runs_of(instance, "stopped")) == 1
    path.write_text("this is not python")
    os.utime(path, (2, 2))
    clock.advance(seconds=60)
    summary = d.tick()
    assert any("does not load" in e or "reload" in e for e in summary.errors)
    assert len(runs_of(instance, "stopped")) == 2  # the previous definitions keep working


def test_tick_history_keeps_the_newest_100(instance):
    store = InstigatorStore(instance.run_storage)
    state: dict = {}
    for i in range(150):
        store.record_tick("loc:s", state, {"id": str(i), "status": "SUCCESS"})
        if i == 149:  # the same tick again (after a crash) replaces its record
            store.record_tick("loc:s", state, {"id": "149", "status": "SKIPPED"})
    store.put("loc:s", state)
    ticks = store.ticks("loc:s")
    assert len(ticks) == 100 and ticks[0] == {"id": "149", "status": "SKIPPED"}
    assert [t["id"] for t in ticks[1:3]] == ["148", "147"] and ticks[-1]["id"] == "50"
    assert store.ticks("loc:s", limit=2)[1]["id"] == "148"


OP_JOB = """
@op(config_schema={"n": int})
def emit(context):
    return context.op_config["n"]

@job
def ops_job():
    emit()

@schedule(job=ops_job, cron_schedule="0 * * * *", default_status=DefaultScheduleStatus.RUNNING)
def hourly_ops(context):
    hour = context.scheduled_execution_time.hour
    return RunRequest(run_config={"ops": {"emit": {"config": {"n": hour}}}})

defs = Definitions(jobs=[ops_job], schedules=[hourly_ops])
"""


def test_op_job_schedule_runs_through_the_worker(instance, write_defs, make_daemon):
    from orchestrator.daemon.worker import execute_queued_run

    clock = ManualClock("2024-01-01T06:30:00Z")
    d = make_daemon(write_defs(OP_JOB), clock)
    d.tick()
    clock.advance(minutes=31)
    d.tick()
    (run,) = runs_of(instance, "hourly_ops")
    assert run.asset_selection is None and run.run_config == {"ops": {"emit": {"config": {
        "n": 7}}}}
    result = execute_queued_run(instance, run.run_id)
    assert result.success and result.output_for_node("emit") == 7


SLOW_SENSORS = """
import os, threading, time
BARRIER = threading.Barrier(2, timeout=20)

@asset
def a():
    return 1

j = define_asset_job("j", selection=[a])

@sensor(job=j, minimum_interval_seconds=0, default_status=DefaultSensorStatus.RUNNING)
def left(context):
    BARRIER.wait()           # passes only if 'right' is evaluated at the same time
    return RunRequest(run_key="left")

@sensor(job=j, minimum_interval_seconds=0, default_status=DefaultSensorStatus.RUNNING)
def right(context):
    BARRIER.wait()
    return RunRequest(run_key="right")

@sensor(job=j, minimum_interval_seconds=0, default_status=DefaultSensorStatus.RUNNING)
def hangs(context):
    if os.environ.get("HANG_SENSOR"):
        time.sleep(float(os.environ["HANG_SENSOR"]))
    return SkipReason("done")

every_minute = ScheduleDefinition(name="every_minute", job=j, cron_schedule="* * * * *",
                                  default_status=DefaultScheduleStatus.RUNNING)
defs = Definitions(assets=[a], jobs=[j], sensors=[left, right, hangs],
                   schedules=[every_minute])
"""


def test_sensors_run_concurrently_and_a_hung_one_times_out(instance, write_defs, make_daemon,
                                                           monkeypatch):
    clock = ManualClock("2024-01-01T00:00:30Z")
    d = make_daemon(write_defs(SLOW_SENSORS), clock, sensor_workers=4, sensor_timeout=30)
    summary = d.tick()
    assert {t["instigator"].split(":")[1]: t["status"] for t in summary.ticks} == {
        "left": "SUCCESS", "right": "SUCCESS", "hangs": "SKIPPED"}
    monkeypatch.setenv("HANG_SENSOR", "3")
    d.sensor_timeout = 0.2
    clock.advance(seconds=45)
    summary = d.tick()
    hung = [t for t in summary.ticks if t["instigator"].endswith(":hangs")][0]
    assert hung["status"] == "FAILURE" and "did not return within 0.2 s" in \
        hung["error"]["message"]
    assert len(runs_of(instance, "every_minute")) == 1  # the schedule was not held up
    clock.advance(seconds=1)
    summary = d.tick()  # still running: not evaluated again meanwhile
    assert not [t for t in summary.ticks if t["instigator"].endswith(":hangs")]
    d._busy["defs_0:hangs"].join(10)
    monkeypatch.delenv("HANG_SENSOR")
    clock.advance(seconds=1)
    summary = d.tick()
    assert [t["status"] for t in summary.ticks if t["instigator"].endswith(":hangs")] == [
        "SKIPPED"]
