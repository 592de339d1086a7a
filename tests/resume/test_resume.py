"""``orchestrator runs resume``: an orchestrator process (the real `materialize` CLI) is
SIGKILLed while a step's external process runs; the real `runs resume` command in another
process finishes the run in the same run id. Every test runs real processes."""

from __future__ import annotations

import json

import pytest
from resume_helpers import LINES, pid_alive, wait_for

pytestmark = pytest.mark.slow


def _crash_during_extern(p, *, gate_before_kill: bool = False) -> tuple[str, int]:
    """Start materializing everything but the in-process assets, kill the orchestrator while
    the external child waits at its gate; (run id, child pid)."""
    p.start("base,extern,summary")
    wait_for(lambda: f"msg {LINES - 1}" in p.messages() and f"out {LINES - 1}" in p.messages(),
             "the child's first half of logs")
    child = p.child_pid()
    p.kill()
    assert pid_alive(child), "the external process must survive its orchestrator"
    run_id = p.run_id()
    assert p.instance.run_storage.get_run(run_id).status.value == "STARTED"
    if gate_before_kill:
        p.open_gate()
        wait_for(lambda: not pid_alive(child), "the orphaned child to finish")
    return run_id, child


def _assert_every_line_once(p, run_id: str) -> None:
    msgs = [e.message for e in p.events(run_id)]
    for i in range(2 * LINES):
        assert msgs.count(f"msg {i}") == 1, f"msg {i}: {msgs.count(f'msg {i}')}"
        assert msgs.count(f"out {i}") == 1, f"out {i}: {msgs.count(f'out {i}')}"


@pytest.mark.parametrize("ended_before_resume", [False, True],
                         ids=["work-still-running", "work-ended-while-down"])
def test_resume_collects_external_work_then_runs_downstream(project, ended_before_resume):
    p = project()
    run_id, child = _crash_during_extern(p, gate_before_kill=ended_before_resume)
    old_pid = p.instance.run_storage.get_run(run_id).tags["orchestrator/pid"]
    assert p.steps("STEP_SUCCESS") == ["base"]

    orphaned = p.cli("runs", "list", "--orphaned", "--json")
    assert orphaned.returncode == 0, orphaned.stderr
    assert [r["run_id"] for r in json.loads(orphaned.stdout)] == [run_id]

    if not ended_before_resume:
        # the work is still at its gate: open it once `resume` has reattached
        import subprocess
        import sys

        resumer = subprocess.Popen([sys.executable, "-m", "orchestrator", "runs", "resume",
                                    run_id[:8]], env=p.env, cwd=p.dir, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_for(lambda: any(e.data.get("reattached") for e in p.events(run_id)),
                 "the reattach event")
        assert pid_alive(child)
        p.open_gate()
        out, err = resumer.communicate(timeout=120)
        code = resumer.returncode
    else:
        done = p.cli("runs", "resume", run_id)
        out, err, code = done.stdout, done.stderr, done.returncode
    assert code == 0, out + err
    assert f"Run {run_id} SUCCESS" in out

    run = p.instance.run_storage.get_run(run_id)
    assert run.status.value == "SUCCESS"
    assert run.tags["orchestrator/pid"] != old_pid  # the resuming process took it over
    _assert_every_line_once(p, run_id)
    evs = p.events(run_id)
    types = [e.event_type.value for e in evs]
    assert types.count("RUN_START") == 1 and types[-1] == "RUN_SUCCESS"
    takeover = [e for e in evs if e.data.get("resumed")]
    assert len(takeover) == 1 and f"pid {old_pid}" in takeover[0].message
    # the step finished as a normal one: materialization with the child's metadata, its
    # output stored through the IO manager, one STEP_START and one STEP_SUCCESS
    mats = [e for e in evs if e.event_type.value == "ASSET_MATERIALIZATION"]
    assert [e.asset_key.to_user_string() for e in mats] == ["base", "extern", "summary"]
    assert mats[1].metadata["rows"] == 2 * LINES
    assert p.steps("STEP_START") == ["base", "extern", "summary"]
    assert p.steps("STEP_SUCCESS") == ["base", "extern", "summary"]
    assert any(e.event_type.value == "HANDLED_OUTPUT" and e.step_key == "extern" for e in evs)
    checks = [e for e in evs if e.event_type.value == "ASSET_CHECK_EVALUATION"]
    assert [(e.step_key, e.data["check_name"], e.data["passed"]) for e in checks] == [
        ("extern", "rows_positive", True)]
    # summary loaded `base` (stored before the crash) and `extern` through the IO manager
    loaded = [e.data["input_name"] for e in evs
              if e.event_type.value == "LOADED_INPUT" and e.step_key == "summary"]
    assert sorted(loaded) == ["base", "extern"]
    import pickle

    stored = (p.home / "storage" / "summary").read_bytes()
    assert pickle.loads(stored) == {"base": 6, "extern": 2 * LINES}
    assert not pid_alive(child)
    # nothing is orphaned any more, and a finished run is not resumed again
    assert json.loads(p.cli("runs", "list", "--orphaned", "--json").stdout) == []
    again = p.cli("runs", "resume", run_id)
    assert again.returncode == 1 and "already finished (SUCCESS)" in again.stderr


def test_external_work_that_fails_fails_the_step(project):
    p = project(fail=True)
    run_id, _child = _crash_during_extern(p, gate_before_kill=True)
    done = p.cli("runs", "resume", run_id)
    assert done.returncode == 1, done.stdout + done.stderr
    run = p.instance.run_storage.get_run(run_id)
    assert run.status.value == "FAILURE"
    _assert_every_line_once(p, run_id)
    failures = [e for e in p.events(run_id) if e.event_type.value == "STEP_FAILURE"]
    assert [e.step_key for e in failures] == ["extern"]
    err = failures[0].data["error"]
    assert err["type"] == "PipesError" and "the warehouse is on fire" in err["message"]
    assert p.steps("STEP_SKIPPED") == ["summary"]
    assert not any(e.event_type.value == "ASSET_MATERIALIZATION" and e.step_key == "extern"
                   for e in p.events(run_id))


def _crash_during_inproc(p) -> str:
    p.start("base,inproc,after_inproc")
    wait_for(lambda: "inproc waiting" in p.messages(), "the in-process step to start")
    p.kill()
    return p.run_id()


def test_interrupted_step_without_external_work_fails(project):
    p = project()
    run_id = _crash_during_inproc(p)
    p.open_gate()  # would let the step finish, but nothing runs it any more
    done = p.cli("runs", "resume", run_id)
    assert done.returncode == 1, done.stdout + done.stderr
    assert p.instance.run_storage.get_run(run_id).status.value == "FAILURE"
    failures = [e for e in p.events(run_id) if e.event_type.value == "STEP_FAILURE"]
    assert [e.step_key for e in failures] == ["inproc"]
    err = failures[0].data["error"]
    assert err["type"] == "StepInterruptedError" and "was interrupted" in err["message"]
    assert p.steps("STEP_SKIPPED") == ["after_inproc"]


def test_interrupted_step_with_retry_policy_runs_again(project):
    p = project(retry=True)
    run_id = _crash_during_inproc(p)
    p.open_gate()
    done = p.cli("runs", "resume", run_id)
    assert done.returncode == 0, done.stdout + done.stderr
    evs = p.events(run_id)
    assert [e.step_key for e in evs if e.event_type.value == "STEP_UP_FOR_RETRY"] == ["inproc"]
    starts = [(e.step_key, e.data.get("retry_number")) for e in evs
              if e.event_type.value == "STEP_START"]
    assert starts == [("base", 0), ("inproc", 0), ("inproc", 1), ("after_inproc", 0)]
    assert p.steps("STEP_SUCCESS") == ["base", "inproc", "after_inproc"]
    assert p.instance.run_storage.get_run(run_id).status.value == "SUCCESS"


def test_resume_refuses_a_live_run(project):
    p = project()
    p.start("base,extern,summary")
    wait_for(lambda: "msg 0" in p.messages(), "the child's first log")
    run_id = p.run_id()
    refused = p.cli("runs", "resume", run_id)
    assert refused.returncode == 1
    assert "is still executing" in refused.stderr and str(p.proc.pid) in refused.stderr
    assert json.loads(p.cli("runs", "list", "--orphaned", "--json").stdout) == []
    # nothing was taken over: the live process finishes its run
    p.open_gate()
    assert p.proc.wait(timeout=120) == 0
    assert p.instance.run_storage.get_run(run_id).status.value == "SUCCESS"
    assert not any(e.data.get("resumed") for e in p.events(run_id))
    again = p.cli("runs", "resume", run_id)
    assert again.returncode == 1 and "already finished (SUCCESS)" in again.stderr


def test_resume_unknown_run_and_api_errors(project, tmp_path):
    from orchestrator.errors import OrchestratorError
    from orchestrator.execution.resume import resume_run

    p = project()
    p.home.mkdir()
    with pytest.raises(OrchestratorError, match="no run 'nope'"):
        resume_run(p.instance, "nope")


def test_multiprocess_run_step_process_dies_with_its_parent(project):
    # the step runs in a forked process that sends its events through the run's process;
    # it must not outlive it (it would collect the work into a dead queue and clean it up)
    p = project(multiprocess=True)
    p.start("base,extern,summary")
    wait_for(lambda: f"msg {LINES - 1}" in p.messages(), "the child's first half of logs")
    run_id = p.run_id()
    launch = next(e for e in p.events(run_id) if e.event_type.value == "EXTERNAL_LAUNCHED")
    step_process = launch.data["orchestrator_pid"]
    assert step_process != p.proc.pid
    child = p.child_pid()
    p.kill()
    wait_for(lambda: not pid_alive(step_process), "the step process to die with its parent")
    assert pid_alive(child)
    p.open_gate()
    done = p.cli("runs", "resume", run_id)
    assert done.returncode == 0, done.stdout + done.stderr
    _assert_every_line_once(p, run_id)
    assert p.steps("STEP_SUCCESS") == ["base", "extern", "summary"]
    assert p.instance.run_storage.get_run(run_id).status.value == "SUCCESS"


def test_cancel_while_resuming_stops_the_reattached_work(project):
    p = project()
    run_id, child = _crash_during_extern(p)
    import subprocess
    import sys

    resumer = subprocess.Popen([sys.executable, "-m", "orchestrator", "runs", "resume", run_id],
                               env=p.env, cwd=p.dir, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    wait_for(lambda: any(e.data.get("reattached") for e in p.events(run_id)), "the reattach")
    # a second resume of the same run is refused while the first holds it
    second = p.cli("runs", "resume", run_id)
    assert second.returncode == 1
    assert "is still executing" in second.stderr or "being resumed" in second.stderr
    # the run's pid tag is now the resuming process: `runs cancel` stops it and the work
    assert p.instance.run_storage.get_run(run_id).tags["orchestrator/pid"] == str(resumer.pid)
    cancel = p.cli("runs", "cancel", run_id)
    assert cancel.returncode == 0, cancel.stderr
    resumer.communicate(timeout=60)
    assert p.instance.run_storage.get_run(run_id).status.value == "CANCELED"
    wait_for(lambda: not pid_alive(child), "the reattached work to be stopped")
    failure = [e for e in p.events(run_id) if e.event_type.value == "STEP_FAILURE"]
    assert [e.step_key for e in failure] == ["extern"] and failure[0].data.get("canceled")


def test_resume_lock_refuses_a_concurrent_resume(project):
    import fcntl
    import os

    p = project()
    run_id, _child = _crash_during_extern(p)
    lock_dir = p.home / "locks"
    lock_dir.mkdir(exist_ok=True)
    fd = os.open(lock_dir / f"resume-{run_id}.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        refused = p.cli("runs", "resume", run_id)
    finally:
        os.close(fd)
    assert refused.returncode == 1 and "is being resumed by another process" in refused.stderr
    assert not any(e.data.get("resumed") for e in p.events(run_id))
    p.open_gate()
    assert p.cli("runs", "resume", run_id).returncode == 0


def test_run_without_a_recorded_process_needs_force(project):
    from orchestrator import Instance, materialize
    from orchestrator.errors import OrchestratorError
    from orchestrator.events import Event, EventType
    from orchestrator.execution.resume import orphaned_runs, resume_run

    p = project()
    instance = Instance.from_home(p.home)
    import importlib.util

    spec = importlib.util.spec_from_file_location("resume_defs_nopid", p.defs)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    # a run that started `base` and stopped there, as if its (unrecorded) process had died
    done = materialize([mod.base], instance=instance)
    storage = instance.run_storage
    from orchestrator.events import RunRecord

    run = RunRecord(run_id="nopid-run", job_name="__ephemeral_asset_job__",
                    asset_selection=["base", "inproc"])
    storage.add_run(run)
    storage.store_events([Event(EventType.RUN_START, run.run_id),
                          Event(EventType.STEP_START, run.run_id, step_key="base",
                                data={"retry_number": 0})])
    assert orphaned_runs(instance) == []  # nobody can tell whether it runs
    with pytest.raises(OrchestratorError, match="records no process"):
        resume_run(instance, run.run_id, mod.defs.asset_job(["base", "inproc"]))
    p.open_gate()
    result = resume_run(instance, run.run_id, mod.defs.asset_job(["base", "inproc"]),
                        force=True, console=False)
    assert not result.success  # `base` was interrupted; `inproc` depends on it only by deps
    evs = storage.get_events(run.run_id)
    fail = [e for e in evs if e.event_type is EventType.STEP_FAILURE]
    assert [e.step_key for e in fail] == ["base"]
    assert fail[0].data["error"]["type"] == "StepInterruptedError"
    assert [e.step_key for e in evs if e.event_type is EventType.STEP_SKIPPED] == ["inproc"]
    assert done.success


def test_resume_a_partitioned_run(project):
    p = project()
    p.start("daily_extern,daily_after", "--partition", "2024-01-02")
    wait_for(lambda: f"msg {LINES - 1}" in p.messages(), "the child's first half of logs")
    p.kill()
    run_id = p.run_id()
    p.open_gate()
    done = p.cli("runs", "resume", run_id)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "partition 2024-01-02" in p.messages(run_id)
    mats = [(e.asset_key.to_user_string(), e.partition) for e in p.events(run_id)
            if e.event_type.value == "ASSET_MATERIALIZATION"]
    assert mats == [("daily_extern", "2024-01-02"), ("daily_after", "2024-01-02")]
    import pickle

    stored = (p.home / "storage" / "daily_after" / "2024-01-02").read_bytes()
    assert pickle.loads(stored) == f"2024-01-02:{2 * LINES}"
    status = p.instance.run_storage.get_partition_status(
        __import__("orchestrator").AssetKey("daily_extern"))
    assert status.get("2024-01-02") == "MATERIALIZED", status


def test_resume_a_reexecution_run(project):
    p = project(fail=True)
    p.open_gate()
    first = p.cli("materialize", "-f", str(p.defs), "--select", "base,extern,summary")
    assert first.returncode == 1, first.stdout + first.stderr
    parent = p.run_id()
    (p.dir / "fail").unlink()
    (p.dir / "gate").unlink()
    (p.dir / "child.pid").unlink()
    p.start_cli("runs", "reexecute", parent, "--from-failure")
    wait_for(lambda: p.run_id() != parent and f"msg {LINES - 1}" in p.messages(),
             "the re-execution's child")
    p.kill()
    run_id = p.run_id()
    p.open_gate()
    done = p.cli("runs", "resume", run_id)
    assert done.returncode == 0, done.stdout + done.stderr
    run = p.instance.run_storage.get_run(run_id)
    assert run.status.value == "SUCCESS" and run.parent_run_id == parent
    # `base` was reused from the parent run, not run again
    assert p.steps("STEP_SUCCESS", run_id) == ["extern", "summary"]
    loaded = [e for e in p.events(run_id) if e.event_type.value == "LOADED_INPUT"
              and e.data["input_name"] == "base"]
    assert len(loaded) == 1
    _assert_every_line_once(p, run_id)


def test_steps_the_loaded_job_does_not_have_are_refused(project):
    from orchestrator import Instance
    from orchestrator.errors import DefinitionError
    from orchestrator.events import Event, EventType, RunRecord
    from orchestrator.execution.resume import resume_run

    p = project()
    instance = Instance.from_home(p.home)
    storage = instance.run_storage
    run = RunRecord(run_id="ghost-run", job_name="__ephemeral_asset_job__",
                    asset_selection=["base"], tags={"orchestrator/pid": "999999999"})
    storage.add_run(run)
    storage.store_events([Event(EventType.RUN_START, run.run_id),
                          Event(EventType.STEP_START, run.run_id, step_key="renamed_asset")])
    import importlib.util

    spec = importlib.util.spec_from_file_location("resume_defs_ghost", p.defs)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with pytest.raises(DefinitionError, match=r"steps \['renamed_asset'\] that job"):
        resume_run(instance, run.run_id, mod.defs.asset_job(["base"]), console=False)
    # nothing was taken over
    assert storage.get_run(run.run_id).tags["orchestrator/pid"] == "999999999"
    assert not any(e.data.get("resumed") for e in storage.get_events(run.run_id))
