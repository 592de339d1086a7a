"""Cancelling a run from another process (``orchestrator runs cancel RUN_ID``).

A run started by the CLI records the executing process in its tags
(:data:`PID_TAG`, :data:`HOST_TAG`). :func:`cancel_run` marks the run CANCELING and sends
that process SIGTERM; the run's process then stops its steps (external processes
included, through their launchers' cancel), records ``RUN_CANCELED`` and exits::

    from orchestrator.execution.cancel import cancel_run

    outcome = cancel_run(instance, run_id)          # "signaled", "marked_canceled"
    wait_for_run_end(instance, run_id, timeout=30)   # the final RunRecord, or None

A run whose process is gone (crashed, killed with SIGKILL, machine restarted) is marked
CANCELED directly, so it does not stay "STARTED" for ever, and the external work it left
running (pipes launches never collected) is stopped through its launchers
(:func:`orchestrator.pipes.terminate_orphaned_launches`).
"""

from __future__ import annotations

import os
import signal
import socket
import time
from typing import Any

from ..errors import OrchestratorError
from ..events import Event, EventType, RunRecord, RunStatus

__all__ = ["HOST_TAG", "PID_START_TAG", "PID_TAG", "cancel_run", "process_tags",
           "run_process_alive", "wait_for_run_end"]

#: Run tag: the pid of the process executing the run.
PID_TAG = "orchestrator/pid"
#: Run tag: the host name of the machine executing the run.
HOST_TAG = "orchestrator/host"


#: Run tag: when the executing process started (Linux clock ticks since boot), so that a
#: recycled pid is never mistaken for the run's process.
PID_START_TAG = "orchestrator/pid_start"


def _start_ticks(pid: int) -> str | None:
    """The start time of process ``pid`` from /proc (None where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode(errors="replace")
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:][:1] in (b"Z", b"X")


def process_tags() -> dict[str, str]:
    """The tags that let :func:`cancel_run` find this process (give them to execute_job)."""
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    started = _start_ticks(os.getpid())
    if started is not None:
        tags[PID_START_TAG] = started
    return tags


def _pid_of(run: RunRecord) -> int | None:
    raw = run.tags.get(PID_TAG)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def run_process_alive(run: RunRecord) -> bool | None:
    """Whether the process recorded for ``run`` is alive; None when it cannot be known
    (no pid recorded, or the run executes on another host)."""
    pid = _pid_of(run)
    if pid is None or run.tags.get(HOST_TAG, socket.gethostname()) != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if _is_zombie(pid):
        return False  # it died; its parent (killed too, say) has not reaped it
    recorded = run.tags.get(PID_START_TAG)
    if recorded is not None:
        current = _start_ticks(pid)
        if current is not None and current != recorded:
            return False  # the pid was recycled by another process
    return True


def cancel_run(instance: Any, run_id: str, *, reason: str = "cancel requested",
               force: bool = False) -> str:
    """Ask the process executing ``run_id`` to stop.

    Returns ``"signaled"`` (SIGTERM sent; the run records CANCELED when it has stopped) or
    ``"marked_canceled"`` (its process is gone, or it never started: the run is now
    CANCELED). Raises :class:`~orchestrator.errors.OrchestratorError` for an unknown or
    finished run, for a run executing on another host, and for a started run that records
    no process (started from Python, not the CLI) unless ``force`` (then it is only marked
    CANCELED: whatever runs it is not stopped).
    """
    storage = instance.run_storage
    run = storage.get_run(run_id)
    if run is None:
        raise OrchestratorError(f"no run {run_id!r} in the instance at {instance.home}; "
                                f"list runs with `orchestrator runs list`")
    if run.status.is_finished:
        raise OrchestratorError(f"run {run_id} already finished ({run.status.value}); there is "
                                f"nothing to cancel")
    pid = _pid_of(run)
    host = run.tags.get(HOST_TAG)
    if pid is not None and host is not None and host != socket.gethostname():
        raise OrchestratorError(
            f"run {run_id} executes on host {host!r} (pid {pid}), not on this one "
            f"({socket.gethostname()!r}); run `orchestrator runs cancel` there")
    if pid is None and not force and run.status in (RunStatus.STARTED, RunStatus.CANCELING):
        raise OrchestratorError(
            f"run {run_id} is {run.status.value} but records no process to signal (tag "
            f"{PID_TAG}; runs started from Python do not have it), so it cannot be stopped "
            f"from here. Stop the process running it, or mark the run CANCELED anyway with "
            f"--force")
    if run.status is not RunStatus.CANCELING:
        storage.store_events([Event(EventType.RUN_CANCELING, run_id, level=30,
                                    message=f"canceling run: {reason}"
                                            + (f" (SIGTERM to pid {pid})" if pid else ""))])
    alive = run_process_alive(run) if pid is not None else False
    if alive and pid is not None and pid != os.getpid():
        try:
            os.kill(pid, signal.SIGTERM)
            return "signaled"
        except ProcessLookupError:
            pass
    why = (f"its process (pid {pid}) is gone" if pid is not None
           else "no process is recorded for it")
    stopped = _stop_orphaned_external_work(instance, run_id)
    if stopped:
        why += f"; stopped {stopped} external process{'es' if stopped > 1 else ''} it left"
    storage.store_events([Event(EventType.RUN_CANCELED, run_id, level=30,
                                message=f"run canceled: {reason}; {why}")])
    return "marked_canceled"


def _stop_orphaned_external_work(instance: Any, run_id: str) -> int:
    """Cancel external work (pipes launches) left running by a run's dead process."""
    try:
        from ..pipes.cancel import terminate_orphaned_launches
    except ImportError:  # pipes host not available: nothing can have been launched
        return 0
    return len(terminate_orphaned_launches(instance, run_id, grace_period=5.0))


def wait_for_run_end(instance: Any, run_id: str, timeout: float = 30.0,
                     poll: float = 0.1) -> RunRecord | None:
    """Poll until ``run_id`` is finished; the final record, or None after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        run = instance.run_storage.get_run(run_id)
        if run is not None and run.status.is_finished:
            return run
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll)
