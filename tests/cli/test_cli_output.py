"""Text output of the commands, live progress on a terminal, Ctrl-C, and the progress sink."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from cli_helpers import PROJECT, Cli, console_script
from click.testing import CliRunner

from orchestrator.cli import cli as cli_group


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.delenv("ORCHESTRATOR_LOG_LEVEL", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "defs.py").write_text(PROJECT, encoding="utf-8")
    return work


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli_group, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_text_output_of_every_listing(env):
    out = invoke("materialize", "-f", "defs.py", "--select", "*", "--tags", "team=data")
    run_id = re.search(r"Run ([0-9a-f-]{36}) SUCCESS", out).group(1)

    runs = invoke("runs", "list")
    assert run_id in runs and "materialize [numbers, total]" in runs
    assert "SUCCESS" in runs and "team=data" in runs and "orchestrator/pid" not in runs
    assert run_id in invoke("runs", "list", "--tag", "team=data")
    assert run_id not in invoke("runs", "list", "--tag", "team=ops")

    shown = invoke("runs", "show", run_id)
    assert shown.startswith(f"Run {run_id}  job materialize [numbers, total]  status SUCCESS")
    assert f"code location file:{env / 'defs.py'}:defs" in shown
    assert re.search(r"DEBUG +\w+ total \[total\] - STEP_START", shown)  # every event

    lines = [json.loads(line) for line in invoke("runs", "show", run_id, "--json",
                                                 "--follow").splitlines()]
    assert lines[0]["event_type"] == "RUN_START" and lines[-1]["event_type"] == "RUN_SUCCESS"

    assets = invoke("assets", "list", "-f", "defs.py")
    assert re.search(r"numbers +│ raw +│ Some numbers\. +│ \d{4}-\d\d-\d\d [\d:]+ +│ "
                     + run_id, assets)
    detail = invoke("assets", "show", "total", "-f", "defs.py")
    assert "total  (location defs, group default)  status MATERIALIZED" in detail
    assert "upstream: numbers" in detail and "downstream: -" in detail
    assert re.search(r"total_positive +│ no +│ passed +│ " + run_id, detail)
    assert "path=" in detail  # materialization metadata in the history

    jobs = invoke("job", "list", "-f", "defs.py")
    assert re.search(r"defs +│ everything +│ assets", jobs)
    summary = invoke("definitions", "show", "-f", "defs.py")
    assert "assets: numbers, total" in summary and "jobs: everything" in summary
    assert "asset_checks: total:total_positive" in summary
    assert "OK    defs: no problems" in invoke("definitions", "validate", "-f", "defs.py")


def test_follow_stops_when_the_runs_process_is_gone(env):
    from orchestrator.events import RunRecord, RunStatus
    from orchestrator.execution.cancel import process_tags
    from orchestrator.instance import Instance

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Instance.get().run_storage.add_run(RunRecord(
        run_id="stuck-run", job_name="j", status=RunStatus.STARTED,
        tags={**process_tags(), "orchestrator/pid": dead}))
    result = CliRunner().invoke(cli_group, ["runs", "show", "stuck-run", "--follow",
                                            "--poll", "0.01"])
    assert result.exit_code == 1
    assert f"its process (pid {dead}) is gone" in result.output
    assert "orchestrator runs cancel stuck-run" in result.output


def test_step_progress_counts_a_real_run(env):
    from orchestrator import Definitions, asset
    from orchestrator.cli.progress import StepProgress
    from orchestrator.execution.api import execute_job

    @asset
    def ok():
        return 1

    @asset
    def bad(ok):
        raise RuntimeError("no")

    @asset
    def after_bad(bad):
        return bad

    @asset
    def other(ok):
        return 2

    changes: list[str] = []
    progress = StepProgress(lambda p: changes.append(p.describe()))
    job = Definitions(assets=[ok, bad, after_bad, other]).asset_job("*")
    execute_job(job, extra_sinks=[progress], raise_on_error=False, console=False)
    assert progress.total == 4
    assert (progress.count("succeeded"), progress.count("failed"),
            progress.count("skipped")) == (2, 1, 1)
    assert progress.finished == 4
    assert any("running 1" in c for c in changes)
    assert changes[-1].startswith("done 2  running 0  failed 1  skipped 1")


def _read_pty(fd: int, proc: subprocess.Popen, limit: float = 120.0) -> str:
    chunks = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data.decode(errors="replace"))
        elif proc.poll() is not None:
            # drain what is left
            while select.select([fd], [], [], 0.05)[0]:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                chunks.append(data.decode(errors="replace"))
            break
    return "".join(chunks)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_live_progress_on_a_terminal_and_plain_lines_otherwise(tmp_path):
    import pty

    work = tmp_path / "work"
    work.mkdir()
    (work / "defs.py").write_text(PROJECT, encoding="utf-8")
    (work / "fail.flag").write_text("")
    cli = Cli(tmp_path / "home", work)
    env = {**cli.env, "TERM": "xterm", "COLUMNS": "160"}
    env.pop("NO_COLOR")
    master, slave = pty.openpty()
    proc = subprocess.Popen([*console_script(), "materialize", "-f", "defs.py", "--select",
                             "*"], cwd=work, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    try:
        out = _read_pty(master, proc)
    finally:
        proc.wait(timeout=120)
        os.close(master)
    assert proc.returncode == 1
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
    assert "done 1  running 0  failed 1  skipped 1" in plain  # the live progress line
    assert "3/3" in plain
    assert "\x1b[31m" in out  # the failure line is red on a terminal
    assert re.search(r"Run [0-9a-f-]{36} FAILURE", plain)

    piped = cli("materialize", "-f", "defs.py", "--select", "*")
    assert piped.returncode == 1
    assert "done 1" not in piped.stderr and "\x1b[" not in piped.stderr  # plain lines only
    assert "STEP_FAILURE" in piped.stderr


@pytest.mark.slow
def test_ctrl_c_cancels_the_run(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "defs.py").write_text(textwrap.dedent('''
        import time
        from orchestrator import Definitions, asset

        @asset
        def sleepy(context):
            context.log.info("sleeping")
            for _ in range(1200):
                time.sleep(0.05)
            return 1

        defs = Definitions(assets=[sleepy])
    '''), encoding="utf-8")
    cli = Cli(tmp_path / "home", work)
    proc = cli.popen("materialize", "-f", "defs.py", "--select", "*")
    deadline = time.monotonic() + 60
    run = None
    while time.monotonic() < deadline and run is None:
        runs = json.loads(cli("runs", "list", "--json").stdout or "[]")
        if runs:
            events = json.loads(cli("runs", "show", runs[0]["run_id"], "--json").stdout)
            if any(e["message"] == "sleeping" for e in events["events"]):
                run = runs[0]
        time.sleep(0.1)
    assert run is not None
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Interrupted: the run was canceled." in err
    record = json.loads(cli("runs", "show", run["run_id"], "--json").stdout)["run"]
    assert record["status"] == "CANCELED"


PARTITIONED = '''
from pathlib import Path

from orchestrator import Definitions, asset, define_asset_job
from orchestrator.partitions import StaticPartitionsDefinition

regions = StaticPartitionsDefinition(["eu", "us", "asia"])


@asset(partitions_def=regions)
def sales(context):
    if context.has_partition_key:
        context.log.info("partition %s", context.partition_key)
    else:
        context.log.info("range %s", list(context.partition_keys))
    if Path(__file__).with_name("fail.flag").exists():
        raise RuntimeError("fail.flag")
    return 1 if context.has_partition_key else {k: 1 for k in context.partition_keys}


defs = Definitions(assets=[sales], jobs=[define_asset_job("sales_job", "sales",
                                                          partitions_def=regions)])
'''


def test_partitions_and_partition_ranges(env):
    (env / "parts.py").write_text(PARTITIONED, encoding="utf-8")
    out = invoke("materialize", "-f", "parts.py", "--select", "*", "--partition", "us")
    assert "partition us" in out
    (env / "fail.flag").write_text("")
    result = CliRunner().invoke(cli_group, ["job", "execute", "sales_job", "-f", "parts.py",
                                            "--partition-range", "eu...us"])
    assert result.exit_code == 1, result.output
    assert "range ['eu', 'us']" in result.output
    from orchestrator.instance import Instance

    runs = Instance.get().run_storage.get_runs()
    assert [r.partition for r in runs] == ["eu...us", "us"]
    (env / "fail.flag").unlink()
    out = invoke("runs", "reexecute", runs[0].run_id, "--from-failure")
    assert "range ['eu', 'us']" in out  # the child runs the same range
    assert Instance.get().run_storage.get_runs(limit=1)[0].partition == "eu...us"

    for args, message in (
            (["--partition", "nope"], "partition key 'nope' is not a partition of"),
            (["--partition-range", "eu"], "'eu' is not START...END"),
            (["--partition", "eu", "--partition-range", "eu...us"],
             "give --partition or --partition-range, not both")):
        result = CliRunner().invoke(cli_group, ["materialize", "-f", "parts.py", "--select",
                                                "*", *args])
        assert result.exit_code in (1, 2)
        assert message in " ".join(result.output.split())
