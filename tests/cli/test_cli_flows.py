"""The main CLI flows, driving the real ``orchestrator`` console script in subprocesses."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import REPO

RUN_LINE = re.compile(r"^Run ([0-9a-f-]{36}) (SUCCESS|FAILURE)", re.MULTILINE)


def run_id_of(stdout: str) -> str:
    match = RUN_LINE.search(stdout)
    assert match, stdout
    return match.group(1)


def test_materialize_runs_the_selection_and_records_the_run(cli, project):
    proc = cli("materialize", "-f", str(project), "--select", "*", "--tags", "team=data")
    assert proc.returncode == 0, proc.stderr
    run_id = run_id_of(proc.stdout)
    assert "SUCCESS" in proc.stdout and "3 succeeded" in proc.stdout
    # each context.log call is one live line on stderr, with step and asset
    assert re.search(r"INFO +\w+ numbers \[numbers\] - making numbers", proc.stderr)
    assert re.search(r"WARNING +\w+ total \[total\] - total is 6", proc.stderr)

    runs = json.loads(cli("runs", "list", "--json").stdout)
    assert [r["run_id"] for r in runs] == [run_id]
    run = runs[0]
    assert run["status"] == "SUCCESS"
    assert run["code_location"] == f"file:{project}:defs"
    assert run["tags"]["team"] == "data"
    assert run["tags"]["orchestrator/pid"].isdigit()
    assert sorted(run["asset_selection"]) == ["numbers", "total"]

    assets = {a["key"]: a for a in json.loads(cli("assets", "list", "-f", str(project),
                                                  "--json").stdout)}
    assert assets["numbers"]["group"] == "raw"
    assert assets["numbers"]["description"] == "Some numbers."
    assert assets["total"]["last_run_id"] == run_id
    assert assets["total"]["checks"] == ["total_positive"]


def test_failure_exit_code_show_and_reexecute_from_failure(cli, project, tmp_path):
    flag = project.with_name("fail.flag")
    flag.write_text("x")
    proc = cli("materialize", "-f", str(project), "--select", "*")
    assert proc.returncode == 1
    parent = run_id_of(proc.stdout)
    assert "FAILURE" in proc.stdout and "1 failed (total)" in proc.stdout
    assert "ValueError: fail.flag is present" in proc.stderr
    assert f'File "{project}"' in proc.stderr  # the user's frame in the step's traceback

    shown = json.loads(cli("runs", "show", parent, "--json").stdout)
    assert shown["run"]["status"] == "FAILURE"
    failures = [e for e in shown["events"] if e["event_type"] == "STEP_FAILURE"]
    assert [(e["step_key"], e["asset_key"]) for e in failures] == [("total", "total")]

    text = cli("runs", "show", parent[:8]).stdout  # a unique prefix is enough
    assert f"Run {parent}" in text
    assert re.search(r"ERROR +\w+ total \[total\] - STEP_FAILURE .*fail.flag", text)
    assert re.search(r"INFO +\w+ numbers \[numbers\] - making numbers", text)

    # fix nothing but the flag; re-execute from another directory: the code location is
    # loaded from what the run recorded
    flag.unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = cli("runs", "reexecute", parent, "--from-failure", "--json", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    child = json.loads(proc.stdout)
    assert child["status"] == "SUCCESS"
    assert child["parent_run_id"] == parent
    assert sorted(child["steps"]["succeeded"]) == ["total", "total_total_positive"]
    assert child["materialized"] == ["total"]  # numbers was reused, not recomputed
    record = json.loads(cli("runs", "show", child["run_id"], "--json").stdout)["run"]
    assert record["tags"]["orchestrator/pid"] != ""
    assert record["code_location"] == f"file:{project}:defs"

    proc = cli("runs", "reexecute", child["run_id"], "--from-failure")
    assert proc.returncode == 1
    assert "succeeded; there is no failure to re-execute from" in proc.stderr


def test_job_execute_list_and_config(cli, project):
    jobs = json.loads(cli("job", "list", "-f", str(project), "--json").stdout)
    assert [(j["name"], j["kind"], j["location"]) for j in jobs] == [
        ("everything", "assets", "defs")]
    proc = cli("job", "execute", "everything", "-f", str(project))
    assert proc.returncode == 0, proc.stderr
    run_id = run_id_of(proc.stdout)
    runs = json.loads(cli("runs", "list", "--job", "everything", "--json").stdout)
    assert [r["run_id"] for r in runs] == [run_id]
    assert json.loads(cli("runs", "list", "--status", "FAILURE", "--json").stdout) == []


def test_validate_reports_every_problem_at_once(cli, write):
    path = write("bad/defs.py", '''
        from orchestrator import (AssetIn, ConfigurableResource, Definitions, asset,
                                  define_asset_job)

        class Db(ConfigurableResource):
            url: str = "x"

        @asset(ins={"ghost": AssetIn(key="no_such_asset")})
        def orphan(ghost):
            return ghost

        @asset
        def needs_db(db: Db):
            return 1

        @asset(key="dup")
        def first():
            return 1

        @asset(key="dup")
        def second():
            return 2

        @asset(deps=["loop_b"])
        def loop_a():
            return 1

        @asset(deps=["loop_a"])
        def loop_b():
            return 1

        defs = Definitions(assets=[orphan, needs_db, first, second, loop_a, loop_b],
                           jobs=[define_asset_job("typo_job", "group:nonexistent_group")])
    ''')
    proc = cli("definitions", "validate", "-f", str(path))
    assert proc.returncode == 1
    out = proc.stdout
    assert "FAIL  defs:" in out
    assert "no_such_asset" in out  # missing upstream
    assert "'db'" in out and "needs_db" in out  # missing resource
    assert "'dup' is defined twice" in out  # duplicate key
    assert "loop_a" in out and "loop_b" in out and "cycle" in out  # cycle with its path
    assert "typo_job" in out  # unknown selection

    report = json.loads(cli("definitions", "validate", "-f", str(path), "--json").stdout)
    assert report["ok"] is False
    assert report["problem_count"] == len(report["locations"][0]["problems"]) >= 5


def test_workspace_with_two_locations(cli, write, project):
    write("other/definitions.py", '''
        from orchestrator import Definitions, asset

        @asset(group_name="ml")
        def model():
            return "m"

        defs = Definitions(assets=[model])
    ''')
    write("third/definitions.py", '''
        from orchestrator import Definitions, asset

        @asset
        def third_asset():
            return 3

        my_defs = Definitions(assets=[third_asset])
    ''')
    write("workspace.yaml", '''
        load_from:
          - python_file: proj/defs.py
            location_name: analytics
          - python_file: {relative_path: other/definitions.py, location_name: ml}
          - python_file: third/definitions.py
    ''')
    listed = json.loads(cli("assets", "list", "--json").stdout)
    assert {(a["location"], a["key"]) for a in listed} == {
        ("analytics", "numbers"), ("analytics", "total"), ("ml", "model"),
        ("definitions", "third_asset")}

    proc = cli("materialize", "--select", "model")
    assert proc.returncode == 1
    assert "3 code locations (analytics, ml, definitions)" in proc.stderr
    assert "--location NAME" in proc.stderr

    proc = cli("materialize", "--select", "model", "--location", "ml")
    assert proc.returncode == 0, proc.stderr
    run = json.loads(cli("runs", "list", "--json").stdout)[0]
    assert run["code_location"] == f"file:{cli.cwd / 'other' / 'definitions.py'}:defs"

    proc = cli("materialize", "--select", "third_asset", "--location", "definitions")
    assert proc.returncode == 0, proc.stderr
    run = json.loads(cli("runs", "list", "--json").stdout)[0]
    assert run["code_location"].endswith("third/definitions.py:my_defs")

    report = json.loads(cli("definitions", "validate", "--json").stdout)
    assert [loc["location"] for loc in report["locations"]] == ["analytics", "ml",
                                                                 "definitions"]
    assert report["ok"] is True

    proc = cli("assets", "list", "--location", "mll")
    assert proc.returncode == 1
    assert "no code location named 'mll' (did you mean 'ml'?)" in proc.stderr


def test_import_error_shows_the_users_traceback_and_a_hint(cli, write):
    path = write("broken/defs.py", '''
        from orchestrator import Definitions

        def helper():
            import not_a_real_module_xyz  # noqa: F401

        helper()
        defs = Definitions()
    ''')
    proc = cli("materialize", "-f", str(path), "--select", "*")
    assert proc.returncode == 1
    err = proc.stderr
    assert f"could not load code location 'defs' from file {path}" in err
    assert "ModuleNotFoundError: No module named 'not_a_real_module_xyz'" in err
    assert f'File "{path}", line 6, in <module>' in err
    assert f'File "{path}", line 4, in helper' in err
    assert "code_location.py" not in err and "importlib" not in err  # not our frames
    assert "Hint: module 'not_a_real_module_xyz' is not importable" in err
    assert "Traceback (most recent call last)" in err and "\nTraceback" not in err.split(
        "Hint:")[1]

    bad_syntax = write("broken/syntax.py", "def f(:\n    pass\n")
    proc = cli("definitions", "validate", "-f", str(bad_syntax))
    assert proc.returncode == 1
    assert "SyntaxError" in proc.stdout and f"fix the syntax error in {bad_syntax}, line 1" \
        in proc.stdout


def test_module_location_and_python_dash_m(cli, write):
    write("pkg_area/mypkg/__init__.py", "")
    write("pkg_area/mypkg/definitions.py", '''
        from orchestrator import Definitions, asset

        @asset
        def from_module():
            return 1

        defs = Definitions(assets=[from_module])
    ''')
    area = cli.cwd / "pkg_area"
    proc = cli("materialize", "-m", "mypkg.definitions", "--select", "*", cwd=area,
               module=True)
    assert proc.returncode == 0, proc.stderr
    run = json.loads(cli("runs", "list", "--json").stdout)[0]
    assert run["code_location"] == f"module:mypkg.definitions@{area}:defs"
    # re-executing from anywhere finds the module through the recorded working directory
    proc = cli("runs", "reexecute", run["run_id"], "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["materialized"] == ["from_module"]

    proc = cli("assets", "list", "-m", "nope_pkg.defs")
    assert proc.returncode == 1
    assert "module 'nope_pkg' was not found" in proc.stderr


def test_log_level_is_honoured_by_runs(cli, project):
    quiet = cli("--log-level", "WARNING", "materialize", "-f", str(project), "--select", "*")
    assert quiet.returncode == 0
    assert "total is 6" in quiet.stderr and "making numbers" not in quiet.stderr
    loud = cli("--log-level", "debug", "materialize", "-f", str(project), "--select", "*")
    assert "STEP_START" in loud.stderr and "making numbers" in loud.stderr
    default = cli("materialize", "-f", str(project), "--select", "*")
    assert "making numbers" in default.stderr and "STEP_START" not in default.stderr


def test_custom_loggers_receive_the_run_logs(cli, write, tmp_path):
    out_file = tmp_path / "handler.log"
    batches = tmp_path / "batches.jsonl"
    path = write("logging_proj/defs.py", f'''
        import json
        import logging

        from orchestrator import Definitions, asset

        handler = logging.FileHandler({str(out_file)!r})
        handler.setFormatter(logging.Formatter("%(levelname)s|%(step_key)s|%(message)s"))

        def batch_logger(events):
            with open({str(batches)!r}, "a") as f:
                f.write(json.dumps([e.event_type.value for e in events]) + "\\n")

        @asset
        def talky(context):
            context.log.info("hello from talky")
            return 1

        defs = Definitions(assets=[talky], loggers={{"file": handler, "batches": batch_logger}})
    ''')
    proc = cli("materialize", "-f", str(path), "--select", "*")
    assert proc.returncode == 0, proc.stderr
    assert "INFO|talky|hello from talky" in out_file.read_text()
    seen = [t for line in batches.read_text().splitlines() for t in json.loads(line)]
    assert "LOG" in seen and seen[-1] == "RUN_SUCCESS"


def test_quickstart_example_runs(cli):
    proc = cli("materialize", "-f", "examples/quickstart/definitions.py", "--select", "*",
               cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "4 succeeded" in proc.stdout
    listed = json.loads(cli("assets", "list", "-f", "examples/quickstart/definitions.py",
                            "--json", cwd=REPO).stdout)
    assert {a["key"] for a in listed if a["last_run_id"]} == {
        "raw_orders", "customer_totals", "top_customers"}
    shown = json.loads(cli("assets", "show", "customer_totals", "-f",
                           "examples/quickstart/definitions.py", "--json", cwd=REPO).stdout)
    assert shown["checks"][0]["name"] == "totals_are_not_negative"
    assert shown["checks"][0]["last_passed"] is True
    assert shown["deps"] == ["raw_orders"] and shown["dependents"] == ["top_customers"]
    proc = cli("job", "execute", "analytics_job", "-f", "examples/quickstart/definitions.py",
               cwd=REPO)
    assert proc.returncode == 0, proc.stderr


def _wait_for(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached")


SLOW = '''
import time
from pathlib import Path
from pathlib import Path

from orchestrator import Definitions, asset

HERE = Path(__file__).parent


@asset
def waits(context):
    context.log.info("waiting for go")
    for _ in range(1200):
        if (HERE / "go").exists():
            break
        time.sleep(0.05)
    context.log.info("went")
    return 1


@asset
def after(waits):
    return waits + 1


defs = Definitions(assets=[waits, after])
'''


def _started_run(cli) -> dict | None:
    runs = json.loads(cli("runs", "list", "--json").stdout or "[]")
    if not runs:
        return None
    events = json.loads(cli("runs", "show", runs[0]["run_id"], "--json").stdout)["events"]
    if any(e["message"] == "waiting for go" for e in events):
        return runs[0]
    return None


@pytest.mark.slow
def test_follow_tails_a_running_run_until_it_ends(cli, write):
    path = write("slow/defs.py", SLOW)
    runner = cli.popen("materialize", "-f", str(path), "--select", "*")
    try:
        run = _wait_for(lambda: _started_run(cli))
        follower = cli.popen("runs", "show", run["run_id"], "--follow")
        time.sleep(0.3)
        path.with_name("go").write_text("")
        out, err = follower.communicate(timeout=120)
        assert follower.returncode == 0, err
        assert "waiting for go" in out and "went" in out
        assert "RUN_SUCCESS" in out and out.rstrip().endswith(f"Run {run['run_id']} ended: "
                                                              f"SUCCESS")
    finally:
        runner.communicate(timeout=120)
    assert runner.returncode == 0


@pytest.mark.slow
def test_cancel_stops_the_running_process(cli, write):
    path = write("slow/defs.py", SLOW)
    runner = cli.popen("materialize", "-f", str(path), "--select", "*")
    try:
        run = _wait_for(lambda: _started_run(cli))
        assert int(run["tags"]["orchestrator/pid"]) == runner.pid
        proc = cli("runs", "cancel", run["run_id"])
        assert proc.returncode == 0, proc.stderr
        assert f"Run {run['run_id']} CANCELED." in proc.stdout
    finally:
        out, _err = runner.communicate(timeout=120)
    assert runner.returncode == 1
    assert "CANCELED" in out
    record = json.loads(cli("runs", "show", run["run_id"], "--json").stdout)
    assert record["run"]["status"] == "CANCELED"
    types = [e["event_type"] for e in record["events"]]
    assert "RUN_CANCELING" in types and types[-1] == "RUN_CANCELED"
    assert "STEP_SUCCESS" not in [t for t, e in zip(types, record["events"])
                                  if e["step_key"] == "after"]

    proc = cli("runs", "cancel", run["run_id"])
    assert proc.returncode == 1
    assert "already finished (CANCELED); there is nothing to cancel" in proc.stderr


def test_help_is_fast_to_import(cli):
    code = ("import sys\nfrom orchestrator.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('rich', 'pydantic', 'yaml', 'orchestrator.definitions')"
            " if m in sys.modules))")
    import subprocess

    proc = subprocess.run([sys.executable, "-c", code], env=cli.env, capture_output=True,
                          text=True, check=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    assert "materialize" in proc.stdout and "runs" in proc.stdout


def test_op_job_with_config_file_and_reexecution(cli, write):
    path = write("ops_proj/defs.py", '''
        from pathlib import Path

        from orchestrator import Config, Definitions, job, op

        class LoadConfig(Config):
            limit: int = 5

        @op
        def load(context, config: LoadConfig) -> list[int]:
            context.log.info("limit %s", config.limit)
            return list(range(config.limit))

        @op
        def count(context, rows: list[int]) -> int:
            if Path(__file__).with_name("ops.flag").exists():
                raise RuntimeError("ops.flag is present")
            context.log.info("counted %s", len(rows))
            return len(rows)

        @job
        def pipeline():
            count(load())

        defs = Definitions(jobs=[pipeline])
    ''')
    config = write("run.yaml", "ops:\n  load:\n    config:\n      limit: 7\n")
    path.with_name("ops.flag").write_text("")
    proc = cli("job", "execute", "pipeline", "-f", str(path), "--config", str(config))
    assert proc.returncode == 1
    assert "limit 7" in proc.stderr
    parent = run_id_of(proc.stdout)
    path.with_name("ops.flag").unlink()
    # the parent's config names 'load', which succeeded and does not run again
    proc = cli("runs", "reexecute", parent, "--from-failure", "--json")
    assert proc.returncode == 0, proc.stderr
    child = json.loads(proc.stdout)
    assert child["steps"]["succeeded"] == ["count"]
    assert "counted 7" in proc.stderr


EXTERNAL = '''
import sys
from pathlib import Path

from orchestrator import Definitions, asset
from orchestrator.pipes import PipesSubprocessClient

HERE = Path(__file__).parent
SCRIPT = "import os, pathlib, time; pathlib.Path(%r).write_text(str(os.getpid())); time.sleep(300)"


@asset
def external(context, pipes_subprocess_client: PipesSubprocessClient):
    code = SCRIPT % str(HERE / "child.pid")
    return pipes_subprocess_client.run(command=[sys.executable, "-c", code], context=context,
                                       protocol_aware=False).get_results()


defs = Definitions(assets=[external],
                   resources={"pipes_subprocess_client": PipesSubprocessClient()})
'''


@pytest.mark.slow
def test_cancel_after_the_orchestrator_died_stops_its_external_work(cli, write):
    import os
    import signal

    path = write("ext/defs.py", EXTERNAL)
    pid_file = path.with_name("child.pid")
    runner = cli.popen("materialize", "-f", str(path), "--select", "*")
    try:
        _wait_for(lambda: pid_file.exists() and pid_file.read_text())
        child = int(pid_file.read_text())
        run = json.loads(cli("runs", "list", "--json").stdout)[0]
        assert run["status"] == "STARTED"
        runner.send_signal(signal.SIGKILL)  # the orchestrator dies; its external work lives
        runner.communicate(timeout=60)
        os.kill(child, 0)

        proc = cli("runs", "cancel", run["run_id"])
        assert proc.returncode == 0, proc.stderr
        assert "CANCELED (no process was executing it" in proc.stdout
        assert "stopped 1 external process it left" in proc.stdout

        def child_gone() -> bool:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                return True
            # a zombie is gone too
            stat = Path(f"/proc/{child}/stat")
            return stat.exists() and stat.read_text().split(") ")[1].startswith("Z")

        _wait_for(child_gone)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.communicate(timeout=60)
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
    record = json.loads(cli("runs", "show", run["run_id"], "--json").stdout)["run"]
    assert record["status"] == "CANCELED"
