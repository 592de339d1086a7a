from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from orchestrator import (
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    DefinitionError,
    Instance,
    MultiPartitionsDefinition,
    RunRequest,
    RunStatus,
    ScheduleDefinition,
    SensorResult,
    SkipReason,
    StaticPartitionsDefinition,
    asset,
    asset_sensor,
    build_schedule_context,
    build_schedule_from_partitioned_job,
    build_sensor_context,
    define_asset_job,
    materialize,
    run_failure_sensor,
    run_status_sensor,
    schedule,
    sensor,
)

UTC = UTC


@asset
def numbers():
    return [1, 2]


job = define_asset_job("numbers_job", selection=[numbers])


def test_schedule_definition_defaults_and_errors():
    sd = ScheduleDefinition(job=job, cron_schedule="0 3 * * *",
                            execution_timezone="Europe/Paris", run_config={"ops": {}},
                            tags={"team": "data"})
    assert sd.name == "numbers_job_schedule" and sd.job_name == "numbers_job"
    assert sd.default_status is DefaultScheduleStatus.STOPPED
    nxt = sd.next_tick_after(datetime(2024, 7, 1, 12, tzinfo=UTC))
    assert nxt.isoformat() == "2024-07-02T03:00:00+02:00"
    res = sd.evaluate_tick(build_schedule_context())
    assert res.run_requests == [RunRequest(run_config={"ops": {}}, tags={"team": "data"})]
    with pytest.raises(DefinitionError, match="has 3 fields"):
        ScheduleDefinition(job=job, cron_schedule="0 3 *")
    with pytest.raises(DefinitionError, match="unknown timezone"):
        ScheduleDefinition(job=job, cron_schedule="0 3 * * *", execution_timezone="Nowhere")
    with pytest.raises(DefinitionError, match="give job="):
        ScheduleDefinition(name="x", cron_schedule="0 3 * * *")
    with pytest.raises(DefinitionError, match="default_status"):
        ScheduleDefinition(job=job, cron_schedule="0 3 * * *", default_status="RUNNING")


def test_decorated_schedule_sees_the_scheduled_time_and_adds_tags():
    @schedule(job=job, cron_schedule="*/15 * * * *", tags={"source": "schedule"})
    def quarter(context):
        t = context.scheduled_execution_time
        if t.minute == 45:
            return SkipReason("not at :45")
        return RunRequest(run_key=t.isoformat(), run_config={"ops": {"x": {"config": {
            "slot": t.strftime("%H:%M")}}}}, tags={"slot": t.strftime("%H:%M")})

    ctx = build_schedule_context(scheduled_execution_time=datetime(2024, 1, 1, 10, 15))
    res = quarter.evaluate_tick(ctx)
    (req,) = res.run_requests
    assert req.tags == {"source": "schedule", "slot": "10:15"}
    assert req.run_key == "2024-01-01T10:15:00+00:00"
    skipped = quarter.evaluate_tick(build_schedule_context(
        scheduled_execution_time=datetime(2024, 1, 1, 10, 45)))
    assert skipped.run_requests == [] and skipped.skip_message == "not at :45"
    # a schedule function can be called directly in a test
    assert isinstance(quarter(ctx), RunRequest)

    @schedule(job=job, cron_schedule="0 * * * *")
    def config_only(context):
        return {"ops": {}}

    assert config_only.evaluate_tick(ctx).run_requests[0].run_config == {"ops": {}}

    @schedule(job=job, cron_schedule="0 * * * *")
    def bad(context):
        return 42

    with pytest.raises(DefinitionError, match="returned int 42"):
        bad.evaluate_tick(ctx)


def test_schedule_from_partitioned_job_requests_the_partition_that_just_ended():
    days = DailyPartitionsDefinition(start_date="2024-01-01", timezone="America/New_York")
    pjob = define_asset_job("daily_job", selection=[numbers], partitions_def=days)
    sd = build_schedule_from_partitioned_job(pjob, hour_of_day=2)
    assert sd.cron_schedule == "0 2 * * *" and sd.execution_timezone == "America/New_York"
    t = sd.next_tick_after(datetime(2024, 1, 5, 12, tzinfo=UTC))
    assert t.isoformat() == "2024-01-06T02:00:00-05:00"
    (req,) = sd.evaluate_tick(build_schedule_context(scheduled_execution_time=t)).run_requests
    assert req.partition_key == "2024-01-05" and req.run_key == "2024-01-05"
    multi = MultiPartitionsDefinition({"date": DailyPartitionsDefinition(
        start_date="2024-01-01"), "region": StaticPartitionsDefinition(["eu", "us"])})
    mjob = define_asset_job("multi_job", selection=[numbers], partitions_def=multi)
    msd = build_schedule_from_partitioned_job(mjob)
    reqs = msd.evaluate_tick(build_schedule_context(
        scheduled_execution_time=datetime(2024, 1, 3, tzinfo=UTC))).run_requests
    assert sorted(r.partition_key for r in reqs) == ["2024-01-02|eu", "2024-01-02|us"]
    with pytest.raises(DefinitionError, match="time-window partitions_def"):
        build_schedule_from_partitioned_job(job)


def test_sensor_cursor_results_and_errors():
    @sensor(job=job, minimum_interval_seconds=5)
    def counter(context):
        n = int(context.cursor or 0)
        context.update_cursor(str(n + 1))
        if n % 2:
            return SkipReason(f"odd {n}")
        return [RunRequest(run_key=f"k{n}")]

    assert counter.minimum_interval_seconds == 5 and counter.job_name == "numbers_job"
    res = counter.evaluate_tick(build_sensor_context(cursor="4"))
    assert [r.run_key for r in res.run_requests] == ["k4"] and res.cursor == "5"
    res = counter.evaluate_tick(build_sensor_context(cursor="5"))
    assert res.run_requests == [] and res.skip_message == "odd 5" and res.cursor == "6"

    @sensor(job=job)
    def with_result(context):
        return SensorResult(run_requests=[RunRequest(run_key="a")], cursor="c2")

    res = with_result.evaluate_tick(build_sensor_context())
    assert res.cursor == "c2" and res.run_requests[0].run_key == "a"
    assert with_result.minimum_interval_seconds == 30  # Dagster's default

    @sensor(job=job)
    def generator(context):
        yield RunRequest(run_key="x")
        yield RunRequest(run_key="y")

    assert [r.run_key for r in generator.evaluate_tick(build_sensor_context()).run_requests] \
        == ["x", "y"]

    @sensor(job=job)
    def bad_cursor(context):
        context.update_cursor(3)

    with pytest.raises(DefinitionError, match="update_cursor takes a string"):
        bad_cursor.evaluate_tick(build_sensor_context())
    with pytest.raises(DefinitionError, match="tags must map strings"):
        RunRequest(tags={"a": 1})
    with pytest.raises(DefinitionError, match="minimum_interval_seconds"):
        sensor(job=job, name="neg", minimum_interval_seconds=-1)(lambda c: None)


def test_asset_sensor_fires_once_per_new_materialization(tmp_path):
    seen = []

    @asset_sensor(asset_key="numbers", job=job)
    def on_numbers(context, asset_event):
        seen.append(asset_event.run_id)
        return RunRequest(run_key=asset_event.run_id)

    with Instance.from_home(tmp_path / "home") as inst:
        ctx = build_sensor_context(instance=inst)
        res = on_numbers.evaluate_tick(ctx)
        assert res.run_requests == [] and "no new materialization" in res.skip_message
        r1 = materialize([numbers], instance=inst, log_level="error")
        res = on_numbers.evaluate_tick(build_sensor_context(instance=inst, cursor=res.cursor))
        assert [r.run_key for r in res.run_requests] == [r1.run_id]
        again = on_numbers.evaluate_tick(build_sensor_context(instance=inst,
                                                              cursor=res.cursor))
        assert again.run_requests == []
        r2 = materialize([numbers], instance=inst, log_level="error")
        r3 = materialize([numbers], instance=inst, log_level="error")
        res = on_numbers.evaluate_tick(build_sensor_context(instance=inst,
                                                            cursor=again.cursor))
        assert [r.run_key for r in res.run_requests] == [r2.run_id, r3.run_id]
        assert json.loads(res.cursor)["storage_id"] > json.loads(again.cursor)["storage_id"]


def test_run_status_sensors(tmp_path):
    @asset
    def flaky():
        raise RuntimeError("boom")

    failures = []

    @run_failure_sensor(request_job=job)
    def on_failure(context):
        failures.append((context.dagster_run.run_id, context.failure_event.message,
                         [e.step_key for e in context.get_step_failure_events()]))
        return RunRequest()

    @run_status_sensor(run_status=RunStatus.SUCCESS, monitored_jobs=["numbers_job"])
    def on_success(context):
        return RunRequest(run_key="after-" + context.dagster_run.run_id)

    with Instance.from_home(tmp_path / "home") as inst:
        first = on_failure.evaluate_tick(build_sensor_context(instance=inst))
        assert first.run_requests == []  # only runs ending after the sensor started
        bad = materialize([flaky], instance=inst, raise_on_error=False, log_level="critical")
        res = on_failure.evaluate_tick(build_sensor_context(instance=inst,
                                                            cursor=first.cursor))
        assert failures and failures[0][0] == bad.run_id and failures[0][2] == ["flaky"]
        assert res.run_requests[0].run_key == f"{bad.run_id}:0"
        s0 = on_success.evaluate_tick(build_sensor_context(instance=inst))
        from orchestrator import Definitions

        ok = Definitions(assets=[numbers], jobs=[job]).get_job_def("numbers_job")
        r = ok.execute_in_process(instance=inst)
        materialize([numbers], instance=inst, log_level="error")  # another job: ignored
        res = on_success.evaluate_tick(build_sensor_context(instance=inst, cursor=s0.cursor))
        assert [q.run_key for q in res.run_requests] == [f"after-{r.run_id}"]
