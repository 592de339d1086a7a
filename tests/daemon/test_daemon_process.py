"""`orchestrator daemon` as a real process: a per-second schedule and a file sensor."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from orchestrator.events import RunStatus
from orchestrator.instance import Instance

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sensors" / "definitions.py"

DEFS = """
import os
from orchestrator import *

@asset
def heartbeat(context):
    return context.run_id

beat = define_asset_job("beat", selection=[heartbeat])
every_second = ScheduleDefinition(name="every_second", job=beat, cron_schedule="* * * * * *",
                                  default_status=DefaultScheduleStatus.RUNNING)
defs = Definitions(assets=[heartbeat], jobs=[beat], schedules=[every_second])
"""


def start_daemon(home: Path, files: list[Path], inbox: Path) -> subprocess.Popen:
    env = dict(os.environ, ORCHESTRATOR_HOME=str(home), INBOX_DIR=str(inbox))
    ws = home.parent / "workspace.yaml"
    ws.write_text("load_from:\n" + "".join(f"  - python_file: {f}\n" for f in files))
    return subprocess.Popen([sys.executable, "-m", "orchestrator", "daemon", "-w", str(ws),
                             "--interval", "0.2", "--max-concurrent-runs", "4",
                             "--max-catchup-ticks", "1000"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def scheduled_times(instance):
    runs = instance.run_storage.get_runs(tags={"orchestrator/schedule": "every_second"})
    return sorted(datetime.fromisoformat(r.tags["orchestrator/scheduled_execution_time"])
                  for r in runs)


def assert_consecutive(times):
    assert len(times) == len(set(times)), f"duplicate ticks: {times}"
    gaps = {(b - a).total_seconds() for a, b in zip(times, times[1:])}
    assert gaps <= {1.0}, f"lost ticks: {times}"


@pytest.mark.slow
def test_daemon_process_runs_schedule_and_sensor_and_survives_a_kill(tmp_path, wait_for):
    home = tmp_path / "home"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    defs = tmp_path / "beat.py"
    defs.write_text(DEFS)
    example = tmp_path / "files.py"
    shutil.copy(EXAMPLE, example)
    proc = start_daemon(home, [defs, example], inbox)
    try:
        instance = Instance.from_home(home)
        (inbox / "a.csv").write_text("x,y\n1,2\n3,4\n")
        (inbox / "b.csv").write_text("x,y\n5,6\n")

        def file_runs_done():
            runs = instance.run_storage.get_runs(tags={"orchestrator/sensor": "new_files"})
            return len(runs) == 2 and all(r.status.is_finished for r in runs) and runs

        runs = wait_for(file_runs_done, timeout=90)
        assert {r.status for r in runs} == {RunStatus.SUCCESS}
        assert sorted(r.tags["file"] for r in runs) == ["a.csv", "b.csv"]
        wait_for(lambda: len([r for r in instance.run_storage.get_runs(
            tags={"orchestrator/schedule": "every_second"}) if r.status is RunStatus.SUCCESS])
            >= 3, timeout=90)
        # kill -9 in the middle of whatever it is doing, then start another daemon
        proc.kill()
        proc.wait()
        before = scheduled_times(instance)
        assert_consecutive(before)
        time.sleep(1.5)  # ticks are due while no daemon runs
        proc = start_daemon(home, [defs, example], inbox)
        wait_for(lambda: len(scheduled_times(instance)) >= len(before) + 4, timeout=90)
        (inbox / "a.csv").write_text("x,y\n7,8\n")  # a changed file runs again, once
        wait_for(lambda: len(instance.run_storage.get_runs(
            tags={"orchestrator/sensor": "new_files"})) == 3, timeout=90)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out.decode()
        assert b"daemon stopped" in out
        after = scheduled_times(instance)
        assert_consecutive(after)  # caught up across the kill: none lost, none twice
        assert after[:len(before)] == before
        wait_for(lambda: all(r.status.is_finished for r in instance.run_storage.get_runs()),
                 timeout=90)
        statuses = {r.status for r in instance.run_storage.get_runs()}
        assert statuses <= {RunStatus.SUCCESS, RunStatus.FAILURE}
        failed = [r for r in instance.run_storage.get_runs() if r.status is RunStatus.FAILURE]
        # runs whose worker the kill left alone finish normally; none may fail
        assert not failed, [instance.run_storage.get_events(r.run_id)[-1].message
                            for r in failed]
        instance.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
