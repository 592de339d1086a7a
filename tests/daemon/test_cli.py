"""The schedule, sensor, backfill and assets partitions commands."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.instance import Instance

DEFS = """
import os
from orchestrator import *

days = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-05")

@asset(partitions_def=days)
def per_day(context):
    return {k: k for k in context.partition_keys}

@asset
def plain():
    return 1

j = define_asset_job("j", selection=[plain])
nightly = ScheduleDefinition(name="nightly", job=j, cron_schedule="0 3 * * *",
                             execution_timezone="Europe/Paris")

@sensor(job=j, minimum_interval_seconds=5)
def counter(context):
    n = int(context.cursor or 0)
    context.update_cursor(str(n + 1))
    return RunRequest(run_key=f"k{n}")

defs = Definitions(assets=[per_day, plain], jobs=[j], schedules=[nightly], sensors=[counter])
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    defs = tmp_path / "defs.py"
    defs.write_text(DEFS)
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path / "home"))
    runner = CliRunner()

    def invoke(*args, ok=True):
        res = runner.invoke(cli, [*args, "-f", str(defs)] if args[0] not in ("backfill",) or
                            args[1] == "launch" else list(args))
        if ok:
            assert res.exit_code == 0, res.output
        return res

    return invoke, tmp_path


def test_schedule_and_sensor_commands(env):
    invoke, tmp_path = env
    rows = json.loads(invoke("schedule", "list", "--json").output)
    assert rows[0]["name"] == "nightly" and rows[0]["status"] == "STOPPED"
    assert rows[0]["timezone"] == "Europe/Paris" and rows[0]["next_tick"].endswith(
        ("+01:00", "+02:00"))
    assert "started schedule defs:nightly" in invoke("schedule", "start", "nightly").output
    assert json.loads(invoke("schedule", "list", "--json").output)[0]["status"] == "RUNNING"
    invoke("schedule", "stop", "nightly")
    assert json.loads(invoke("schedule", "list", "--json").output)[0]["status"] == "STOPPED"
    preview = json.loads(invoke("schedule", "preview", "nightly", "--count", "2",
                                "--evaluate", "--json").output)
    assert len(preview) == 2 and "T03:00:00+0" in preview[0]["time"]
    assert preview[0]["run_requests"] == [{"run_key": None, "partition_key": None, "tags": {},
                                           "run_config": {}}]
    bad = invoke("schedule", "start", "nighty", ok=False)
    assert bad.exit_code == 1 and "did you mean 'nightly'" in bad.output
    assert json.loads(invoke("schedule", "ticks", "nightly", "--json").output) == []
    # sensor test: evaluates once without making runs or saving the cursor
    out = json.loads(invoke("sensor", "test", "counter", "--cursor", "7", "--json").output)
    assert out["run_requests"][0]["run_key"] == "k7" and out["new_cursor"] == "8"
    with Instance.from_home(tmp_path / "home") as inst:
        assert inst.run_storage.get_runs() == []
    sensors = json.loads(invoke("sensor", "list", "--json").output)
    assert sensors[0]["minimum_interval_seconds"] == 5 and sensors[0]["cursor"] is None


def test_backfill_commands_and_partitions_view(env, wait_for):
    invoke, tmp_path = env
    out = invoke("backfill", "launch", "--select", "per_day", "--from", "2024-01-02",
                 "--to", "2024-01-03", "--json").output
    bf = json.loads(out)
    assert bf["partitions"] == 2 and bf["runs"] == 2 and bf["status"] == "REQUESTED"
    shown = json.loads(invoke("backfill", "show", bf["backfill_id"], "--json").output)
    assert [c["status"] for c in shown["chunks"]] == ["NOT_SUBMITTED", "NOT_SUBMITTED"]
    listed = json.loads(invoke("backfill", "list", "--json").output)
    assert listed[0]["backfill_id"] == bf["backfill_id"]
    assert "CANCELED" in invoke("backfill", "cancel", bf["backfill_id"]).output
    single = json.loads(invoke("backfill", "launch", "--select", "per_day", "--all",
                               "--single-run", "--json").output)
    assert single["runs"] == 1 and single["partitions"] == 4
    bad = invoke("backfill", "launch", "--select", "per_day", "--from", "2024-01-02",
                 ok=False)
    assert bad.exit_code != 0 and "give both --from and --to" in bad.output
    # the daemon runs the single-run backfill in a worker process
    res = invoke("daemon", "--iterations", "1", "--interval", "0")
    with Instance.from_home(tmp_path / "home") as inst:
        (run,) = inst.run_storage.get_runs(tags={"orchestrator/backfill":
                                                 single["backfill_id"]})
        assert run.partition == "2024-01-01...2024-01-04"
        done = wait_for(lambda: (r := inst.run_storage.get_run(run.run_id)).status.is_finished
                        and r, timeout=90)
        assert done.status.value == "SUCCESS"
    assert "daemon stopped" in res.output
    assert "daemon stopped" in invoke("dev", "--iterations", "1", "--interval", "0").output
    out = invoke("assets", "partitions", "per_day", "--json").output
    assert json.loads(out)["partitions"] == [
        {"partition": k, "status": "MATERIALIZED"}
        for k in ("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04")]


def test_tag_limit_option_parsing():
    import click

    from orchestrator.cli.daemon_cmd import _parse_tag_limit

    assert _parse_tag_limit("team:3") == {"key": "team", "limit": 3}
    assert _parse_tag_limit("database=warehouse:1") == {"key": "database",
                                                        "value": "warehouse", "limit": 1}
    assert _parse_tag_limit("tenant=*:2") == {"key": "tenant", "limit": 2, "value": {
        "applyLimitPerUniqueValue": True}}
    with pytest.raises(click.BadParameter, match="expected KEY:N"):
        _parse_tag_limit("team")


def test_list_warns_when_no_daemon_runs(env):
    invoke, tmp_path = env
    invoke("sensor", "start", "counter")
    res = invoke("sensor", "list")
    assert "no daemon is running" in res.output
    from orchestrator.cli.schedule_cmd import daemon_status

    with Instance.from_home(tmp_path / "home") as inst:
        assert daemon_status(inst.run_storage)["running"] is False
        import time

        inst.run_storage.kv_set("daemon", "heartbeat", {"pid": 1, "host": "h",
                                                        "ts": time.time()})
    assert "no daemon is running" not in invoke("sensor", "list").output
