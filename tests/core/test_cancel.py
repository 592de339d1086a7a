"""SIGTERM and Ctrl-C (SIGINT) stop a run cleanly and record it CANCELED (real processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from orchestrator import EventType, Instance, RunStatus

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from orchestrator import asset, materialize, Instance

    home, run_id, executor, pid_file, mode = sys.argv[1:6]

    @asset
    def slow() -> int:
        Path(pid_file).write_text(str(os.getpid()))
        print("STEP-RUNNING", flush=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                time.sleep(30)
            except Exception:  # user code that catches everything it can
                if mode != "swallow":
                    raise
        return 1

    @asset
    def after_slow(slow: int) -> int:
        return slow

    materialize([slow, after_slow], instance=Instance.from_home(home), run_id=run_id,
                executor=executor)
""")


def _run_and_signal(tmp_path: Path, sig: int, executor: str,
                    mode: str = "plain") -> tuple[Instance, str, int, int, str]:
    script = tmp_path / "long_run.py"
    script.write_text(SCRIPT)
    home = tmp_path / "home"
    run_id = str(uuid.uuid4())
    pid_file = tmp_path / "step.pid"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, str(script), str(home), run_id, executor,
                             str(pid_file), mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "STEP-RUNNING", proc.stderr.read()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Instance.from_home(home), run_id, proc.returncode, int(pid_file.read_text()), err


def _assert_canceled(instance: Instance, run_id: str) -> None:
    run = instance.get_run(run_id)
    assert run is not None
    assert run.status is RunStatus.CANCELED
    events = instance.get_events(run_id)
    types = [e.event_type for e in events]
    assert types[-1] is EventType.RUN_CANCELED
    assert EventType.RUN_CANCELING in types
    assert EventType.RUN_SUCCESS not in types and EventType.RUN_FAILURE not in types
    # the step that was running ended as a (canceled) failure; its dependent did not run
    fail = [e for e in events if e.event_type is EventType.STEP_FAILURE]
    assert [e.step_key for e in fail] == ["slow"]
    assert fail[0].data.get("canceled") is True
    assert not [e for e in events if e.event_type is EventType.STEP_START
                and e.step_key == "after_slow"]
    assert instance.get_latest_materialization("slow") is None


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie child of someone else still answers kill(0); check its state
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_cancels_in_process_run(tmp_path, sig):
    instance, run_id, code, _, err = _run_and_signal(tmp_path, sig, "in_process")
    try:
        assert code != 0, err
        _assert_canceled(instance, run_id)
        canceled = instance.get_events(run_id)[-1]
        assert signal.Signals(sig).name in canceled.message
    finally:
        instance.close()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_cancels_multiprocess_run_and_stops_step_processes(tmp_path, sig):
    instance, run_id, code, step_pid, err = _run_and_signal(tmp_path, sig, "multiprocess")
    try:
        assert code != 0, err
        _assert_canceled(instance, run_id)
        assert _gone(step_pid), f"step process {step_pid} still running after cancel"
    finally:
        instance.close()


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_sigterm_is_not_swallowed_by_user_code_catching_exception(tmp_path, executor):
    instance, run_id, code, step_pid, err = _run_and_signal(tmp_path, signal.SIGTERM, executor,
                                                            mode="swallow")
    try:
        assert code != 0, err
        _assert_canceled(instance, run_id)
        assert _gone(step_pid)
    finally:
        instance.close()
