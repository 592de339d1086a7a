"""Helpers for the resume tests: a code location whose orchestrator process (the real
``orchestrator materialize`` CLI) is SIGKILLed mid-run, with its external work still going."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable

# The code location. The external child logs LINES lines (half through the protocol, half on
# stdout), waits for the gate file, logs as many again, then reports its materialization and
# an output value (stored through the IO manager, read by `summary`). FAIL_AFTER_GATE makes
# it raise instead; `inproc` is a step without external work that waits for the gate itself.
DEFS = '''
import os, sys, time
from orchestrator import (AssetCheckSpec, DailyPartitionsDefinition, Definitions, RetryPolicy,
                          asset, multiprocess_executor)
from orchestrator.pipes import PipesSubprocessClient

HERE = os.path.dirname(os.path.abspath(__file__))
GATE = os.path.join(HERE, "gate")
CHILD = os.path.join(HERE, "child.py")


@asset
def base() -> list[int]:
    return [1, 2, 3]


@asset(deps=[base], check_specs=[AssetCheckSpec("rows_positive", asset="extern")])
def extern(context, pipes_subprocess_client: PipesSubprocessClient):
    return pipes_subprocess_client.run(command=[sys.executable, CHILD],
                                       context=context).get_results()


@asset
def summary(base: list[int], extern: dict) -> dict:
    return {{"base": sum(base), "extern": extern["rows"]}}


@asset(deps=[base]{retry})
def inproc(context) -> int:
    context.log.info("inproc waiting")
    while not os.path.exists(GATE):
        time.sleep(0.02)
    return 7


@asset
def after_inproc(inproc: int) -> int:
    return inproc + 1


daily = DailyPartitionsDefinition(start_date="2024-01-01")


@asset(partitions_def=daily)
def daily_extern(context, pipes_subprocess_client: PipesSubprocessClient):
    return pipes_subprocess_client.run(command=[sys.executable, CHILD],
                                       context=context).get_results()


@asset(partitions_def=daily)
def daily_after(context, daily_extern: dict) -> str:
    return f"{{context.partition_key}}:{{daily_extern['rows']}}"


defs = Definitions(
    assets=[base, extern, summary, inproc, after_inproc, daily_extern, daily_after],{executor}
    resources={{"pipes_subprocess_client": PipesSubprocessClient(
        env={{"PYTHONPATH": {repo!r}}}, termination_grace_period=2.0)}})
'''

CHILD = '''
import os, sys, time
from pipes_client import open_pipes

HERE = os.path.dirname(os.path.abspath(__file__))
with open_pipes() as pipes:
    with open(os.path.join(HERE, "child.pid"), "w") as fh:
        fh.write(str(os.getpid()))
    for i in range({lines}):
        pipes.log.info(f"msg {{i}}")
        print(f"out {{i}}", flush=True)
        time.sleep(0.005)
    while not os.path.exists(os.path.join(HERE, "gate")):
        time.sleep(0.01)
    for i in range({lines}, {lines} * 2):
        pipes.log.info(f"msg {{i}}")
        print(f"out {{i}}", flush=True)
        time.sleep(0.005)
    if os.path.exists(os.path.join(HERE, "fail")):
        raise RuntimeError("the warehouse is on fire")
    if pipes.is_partition_step:
        pipes.log.info(f"partition {{pipes.partition_key}}")
    pipes.report_output({{"rows": {lines} * 2}})
    pipes.report_asset_materialization(metadata={{"rows": {lines} * 2}})
    if pipes.asset_key == "extern":
        pipes.report_asset_check("rows_positive", passed=True, metadata={{"rows": {lines} * 2}})
'''

LINES = 40


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return False
    return data[data.rfind(b")") + 2:][:1] not in (b"Z", b"X")


def wait_for(pred: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Project:
    """A code location in a temporary directory and an instance home beside it."""

    def __init__(self, tmp: Path, *, fail: bool = False, retry: bool = False,
                 multiprocess: bool = False) -> None:
        self.dir = tmp
        self.home = tmp / "home"
        self.defs = tmp / "defs.py"
        self.defs.write_text(DEFS.format(
            repo=str(REPO), retry=", retry_policy=RetryPolicy(max_retries=1)" if retry else "",
            executor=" executor=multiprocess_executor," if multiprocess else ""))
        (tmp / "child.py").write_text(textwrap.dedent(CHILD.format(lines=LINES)))
        if fail:
            (tmp / "fail").write_text("")
        self.env = {**os.environ, "ORCHESTRATOR_HOME": str(self.home),
                    "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc: subprocess.Popen[bytes] | None = None

    # the orchestrator process ------------------------------------------------------------
    def start(self, select: str, *more: str) -> None:
        """`orchestrator materialize -f defs.py --select SELECT [more]` as the orchestrator."""
        self.start_cli("materialize", "-f", str(self.defs), "--select", select, *more)

    def start_cli(self, *args: str) -> None:
        # its console output goes to a file: a pipe nobody reads would block it once full
        with open(self.dir / "orchestrator.log", "ab") as log:
            self.proc = subprocess.Popen(
                [PY, "-m", "orchestrator", *args], env=self.env, cwd=self.dir,
                stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PY, "-m", "orchestrator", *args], env=self.env, cwd=self.dir,
                              capture_output=True, text=True, timeout=timeout, check=False)

    # the instance ------------------------------------------------------------------------
    @property
    def instance(self) -> Any:
        from orchestrator import Instance

        return Instance.from_home(self.home)

    def run_id(self) -> str:
        """The newest run's id."""
        runs = self.instance.run_storage.get_runs(limit=1)
        assert runs, "no run yet"
        return runs[0].run_id

    def events(self, run_id: str | None = None) -> list[Any]:
        try:
            return self.instance.run_storage.get_events(run_id or self.run_id())
        except Exception:  # noqa: BLE001 - the store may not exist yet
            return []

    def messages(self, run_id: str | None = None) -> list[str]:
        return [e.message for e in self.events(run_id)]

    def open_gate(self) -> None:
        (self.dir / "gate").write_text("")

    def child_pid(self) -> int:
        return int((self.dir / "child.pid").read_text())

    def steps(self, etype: str, run_id: str | None = None) -> list[str]:
        return [e.step_key for e in self.events(run_id) if e.event_type.value == etype]

    def run_json(self, run_id: str) -> dict[str, Any]:
        out = self.cli("runs", "show", run_id, "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)


@pytest.fixture
def project(tmp_path):
    made: list[Project] = []

    def make(**kw: Any) -> Project:
        p = Project(tmp_path, **kw)
        made.append(p)
        return p

    yield make
    for p in made:  # never leave an orchestrator or a child behind
        if p.proc is not None and p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait()
        pid_file = p.dir / "child.pid"
        if pid_file.exists():
            try:
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)
            except (ProcessLookupError, PermissionError, ValueError):
                pass
