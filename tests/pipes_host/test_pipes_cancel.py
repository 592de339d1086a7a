"""Cancellation (issue 4 §8): SIGTERM or Ctrl-C to the orchestrator, ``runs cancel`` from
another process, and an orchestrator that died — the external process group is terminated,
the run is recorded CANCELED, nothing is left running. Plus reattaching after a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from ph_helpers import PY, REPO, child_env

from orchestrator import Instance
from orchestrator.launchers.subprocess import _proc_start_time

pytestmark = pytest.mark.slow

DRIVER = """
import sys
from orchestrator import Instance, asset, materialize
from orchestrator.pipes import PipesSubprocessClient

home, run_id, child, grace = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])

@asset
def long_job(context, pipes_subprocess_client: PipesSubprocessClient):
    return pipes_subprocess_client.run(command=[sys.executable, child],
                                       context=context).get_results()

client = PipesSubprocessClient(env={"PYTHONPATH": %r}, termination_grace_period=grace)
materialize([long_job], resources={"pipes_subprocess_client": client},
            instance=Instance.from_home(home), run_id=run_id, raise_on_error=False)
""".replace("%r", repr(str(REPO)))

# The child starts a grandchild (same process group), records both pids, logs, then waits.
CHILD = """
import os, subprocess, sys, time
from pipes_client import open_pipes
here = os.path.dirname(os.path.abspath(__file__))
with open_pipes() as pipes:
    grand = subprocess.Popen(["sleep", "300"])
    with open(os.path.join(here, "pids"), "w") as fh:
        fh.write(f"{os.getpid()} {grand.pid}")
    pipes.log.info("child running")
    %s
    pipes.report_asset_materialization()
"""


def _alive(pid: int) -> bool:
    return _proc_start_time(pid) is not None


def _wait_for(pred, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Harness:
    def __init__(self, tmp: Path, child_body: str, grace: float = 3.0,
                 ignore_sigterm: bool = False) -> None:
        self.tmp = tmp
        self.home = tmp / "home"
        self.run_id = str(uuid.uuid4())
        (tmp / "driver.py").write_text(DRIVER)
        body = CHILD % child_body
        if ignore_sigterm:
            body = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + body
        (tmp / "child.py").write_text(textwrap.dedent(body))
        self.proc = subprocess.Popen(
            [PY, str(tmp / "driver.py"), str(self.home), self.run_id, str(tmp / "child.py"),
             str(grace)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={**os.environ, **child_env()})

    @property
    def storage(self):
        return Instance.from_home(self.home).run_storage

    def messages(self) -> list[str]:
        try:
            return [e.message for e in self.storage.get_events(self.run_id)]
        except Exception:  # noqa: BLE001 - the store may not exist yet
            return []

    def wait_running(self) -> tuple[int, int]:
        _wait_for(lambda: "child running" in self.messages(), "the child's first log")
        pids = (self.tmp / "pids").read_text().split()
        return int(pids[0]), int(pids[1])

    def finish(self) -> str:
        _, err = self.proc.communicate(timeout=60)
        return err.decode()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_to_orchestrator_terminates_process_group(tmp_path, sig):
    h = Harness(tmp_path, "time.sleep(300)")
    child, grand = h.wait_running()
    h.proc.send_signal(sig)
    h.finish()
    run = h.storage.get_run(h.run_id)
    assert run.status.value == "CANCELED"
    assert not _alive(child) and not _alive(grand)
    evs = h.storage.get_events(h.run_id)
    term = [e for e in evs if e.data.get("canceled") and e.data.get("pipes_exit")]
    assert term and "terminated external process" in term[0].message
    assert any(e.event_type.value == "STEP_FAILURE" and e.data.get("canceled") for e in evs)
    # the client closes the session on SIGTERM: its 'closed' arrived before the end
    assert any((e.data.get("pipes_message") or {}).get("method") == "closed" for e in evs)


def test_sigkill_after_grace_period(tmp_path):
    h = Harness(tmp_path, "time.sleep(300)", grace=0.5, ignore_sigterm=True)
    child, grand = h.wait_running()
    h.proc.send_signal(signal.SIGTERM)
    h.finish()
    assert h.storage.get_run(h.run_id).status.value == "CANCELED"
    assert not _alive(child) and not _alive(grand)
    term = [e for e in h.storage.get_events(h.run_id) if e.data.get("canceled")]
    assert "SIGKILL" in term[0].message


def test_cancel_from_another_process(tmp_path):
    from orchestrator.execution.cancel import cancel_run, wait_for_run_end

    h = Harness(tmp_path, "time.sleep(300)")
    child, grand = h.wait_running()
    instance = Instance.from_home(h.home)
    # the pipes launch recorded the orchestrator's pid in the run's tags
    assert instance.run_storage.get_run(h.run_id).tags["orchestrator/pid"] == str(h.proc.pid)
    assert cancel_run(instance, h.run_id) == "signaled"
    run = wait_for_run_end(instance, h.run_id, timeout=60)
    h.finish()
    assert run is not None and run.status.value == "CANCELED"
    assert not _alive(child) and not _alive(grand)


def test_cancel_with_the_cli_command(tmp_path):
    h = Harness(tmp_path, "time.sleep(300)")
    child, grand = h.wait_running()
    proc = subprocess.run([PY, "-m", "orchestrator", "runs", "cancel", h.run_id],
                          env={**os.environ, "ORCHESTRATOR_HOME": str(h.home)},
                          capture_output=True, text=True, timeout=120, check=False)
    h.finish()
    assert proc.returncode == 0, proc.stderr
    assert h.storage.get_run(h.run_id).status.value == "CANCELED"
    assert not _alive(child) and not _alive(grand)


def test_orphaned_external_work_is_terminated(tmp_path):
    from orchestrator.pipes import terminate_orphaned_launches

    h = Harness(tmp_path, "time.sleep(300)")
    child, grand = h.wait_running()
    h.proc.kill()
    h.finish()
    assert _alive(child)  # the orchestrator died; its external work did not
    stopped = terminate_orphaned_launches(Instance.from_home(h.home), h.run_id,
                                          grace_period=2)
    assert [s["pid"] for s in stopped] == [child]
    assert not _alive(child) and not _alive(grand)
    # a second call finds nothing left to stop
    assert terminate_orphaned_launches(Instance.from_home(h.home), h.run_id) == []


@pytest.mark.parametrize("finish_first", [False, True],
                         ids=["still-running", "ended-before-reattach"])
def test_reattach_after_orchestrator_crash_loses_and_duplicates_nothing(tmp_path,
                                                                        finish_first):
    from orchestrator.pipes import reattach_pipes_session

    go = tmp_path / "go"
    body = f"""
    for i in range(50):
        pipes.log.info(f"msg {{i}}")
        print(f"out {{i}}", flush=True)
    while not os.path.exists({str(go)!r}):
        time.sleep(0.01)
    for i in range(50, 100):
        pipes.log.info(f"msg {{i}}")
        print(f"out {{i}}", flush=True)
    grand.kill()
    """
    h = Harness(tmp_path, textwrap.indent(textwrap.dedent(body), "    ").strip())
    child, _grand = h.wait_running()
    _wait_for(lambda: "msg 49" in h.messages() and "out 49" in h.messages(), "msg 49")
    h.proc.kill()
    h.finish()
    go.write_text("")
    if finish_first:
        _wait_for(lambda: not _alive(child), "the orphaned child to finish")
    instance = Instance.from_home(h.home)
    session = reattach_pipes_session(instance, h.run_id)
    session.check_outcome()
    results = session.get_results()
    assert [r.asset_key.to_user_string() for r in results] == ["long_job"]
    msgs = [e.message for e in instance.run_storage.get_events(h.run_id)]
    for i in range(100):
        assert msgs.count(f"msg {i}") == 1, f"msg {i}"
        assert msgs.count(f"out {i}") == 1, f"out {i}"
    assert not _alive(child)
    assert not Path(session.session_dir).exists()  # cleaned up by the reattached session
